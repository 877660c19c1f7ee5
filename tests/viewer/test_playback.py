"""The replay player: buttons, clock, server-driven playing, achieved frame rate."""
import pytest

from scenes.meshes import city_scene
from viewer.playback import SPEEDS, Playback, achieved_rate
from viewer.viewmodel import ViewModel


@pytest.fixture
def playback(tiny_city, tiny_run):
    frames = []
    pb = Playback(ViewModel(tiny_city, city_scene(tiny_city), tiny_run), on_frame=frames.append)
    pb.frames = frames
    return pb


def test_buttons_step_through_the_frames_and_move_the_clock(playback):
    playback.last()
    assert playback.frames == [2] and "15:00:00" in playback.clock.object
    playback.back()
    playback.first()
    playback.step()
    assert playback.frames == [2, 1, 0, 1]
    assert "frame 2 / 3" in playback.clock.object


def test_every_button_has_a_tooltip(playback):
    assert all(b.description.content for b in playback.buttons.values())
    assert playback.speed.description


def test_playing_waits_for_the_browser_to_draw(playback):
    playback.playing = True                    # as play() without a server loop
    playback.tick()
    assert playback.frames == [1]
    playback.tick()                            # frame 1 not drawn yet: wait
    assert playback.frames == [1]
    playback.drawn(1)
    playback.tick()
    assert playback.frames == [1, 2]
    playback.drawn(2)
    playback.tick()                            # at the end: stops
    assert not playback.playing and playback.buttons["play"].label == "▶"


def test_a_slow_browser_shows_the_rate_it_achieves(playback):
    playback.playing = True
    playback.speed.value = "4 fps"
    playback._drawn.extend([0.0, 1.0, 2.0])   # one frame a second drawn
    playback._show_rate()
    assert "drawing 1.0 of 4 fps" in playback.rate.object
    playback._drawn.clear()
    playback._drawn.extend([0.0, 0.25, 0.5])
    playback._show_rate()
    assert playback.rate.object == ""


def test_achieved_rate():
    assert achieved_rate([0.0, 0.5, 1.0, 1.5]) == 2.0
    assert achieved_rate([0.0, 1.0]) is None
    assert set(SPEEDS) == {"0.5 fps", "1 fps", "2 fps", "4 fps"}


def test_without_a_run_the_player_is_off(tiny_city):
    pb = Playback(ViewModel(tiny_city, city_scene(tiny_city), None), on_frame=print)
    assert pb.player.disabled and all(b.disabled for b in pb.buttons.values())
    pb.play()
    assert not pb.playing
