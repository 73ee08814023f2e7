"""One check for each setting (issue 25): ``authapp settings``, the command-line flags, the
GUI's settings table and a stored value give the same answer for every setting, good values
and bad (``vae-inpaint`` included: it used to be refused by one path and accepted by another).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PyQt5.QtWidgets import QInputDialog
from storekit import FMKIT

from authapp.cli import main
from authapp.gui.main_window import MainWindow
from authapp.services import Actor, AuthService, Settings
from authapp.settings_schema import LOCKOUT_KEYS, SPECS, parse, verifier_choices
from authapp.store import EnrollmentStore
from core.errors import AirAuthError
from models.pseudo import GENERATORS

CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # setting: (good, bad) as typed
    "verifier": (("dtw", "ss-svm", "fusion"), ("best", "calibrated", "DTW")),
    "verifier_params": (("{}", '{"dtw": {"window": 0.2}}'),
                        ("[1]", "not json", '{"bogus_param": 1}')),
    "pseudo": (("vae-inpaint", "gan", "vae", "pseudo", "off"), ("bogus", "vae_inpaint")),
    "background": (("true", "off"), ("maybe",)),
    "shipped_background": (("false", "yes"), ("2",)),
    "max_failures": (("0", "2"), ("1e999", "2.5", "-3")),
    "window_s": (("30",), ("0", "inf")),
    "lockout_s": (("0", "60"), ("inf", "-1")),
    "security": (("high", "low", "normal"), ("extreme",)),
    "calibration": (("shipped", "none"), ("/nonexistent/calibration.json",)),
    "replay_threshold": (("0.01",), ("-1", "nan", "NaN")),
    "adaptation": (("on", "false"), ("maybe",)),
    "adapt_margin": (("2",), ("-2", "1e999")),
    "max_adapted": (("5",), ("2.5", "1000")),
    "login_service": (("off", "on"), ("sometimes",)),
    "service_idle_s": (("60", "3600"), ("0", "5", "-1", "nan", "inf", "1e999", "true",
                                         "999999999")),
}
FLAGS = {"verifier": [("enroll", "--verifier"), ("enroll-batch", "--verifier")],
         "pseudo": [("enroll", "--pseudo")], "security": [("enroll", "--security")]}
"""The settings a command-line flag sets: (command, flag)."""

Answer = tuple[bool, object]  # (accepted, the Settings then in effect | the refusal message)


class Reached(AirAuthError):
    """The command got as far as enrolling: its flags were accepted."""


def test_every_setting_is_tried_and_every_generator_accepted() -> None:
    assert set(CASES) == set(SPECS)
    assert set(GENERATORS) <= set(CASES["pseudo"][0])  # the registry's list is the list
    assert "calibrated" not in verifier_choices() and "fusion" in verifier_choices()


def _error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    return lines[0].split(": error: ", 1)[1]


def _settings_command(capsys, store: Path, name: str, text: str) -> Answer:
    code = main(["settings", name, text, "--store", str(store)])
    out = capsys.readouterr()
    if code != 0:
        return False, _error(out.err)
    with EnrollmentStore(store) as s:
        settings = Settings.from_store(s)
    assert main(["settings", name, "default", "--store", str(store)]) == 0  # back to default
    capsys.readouterr()
    return True, settings


def _flag(capsys, monkeypatch, tmp: Path, command: str, flag: str, text: str) -> Answer:
    seen: dict[str, Settings] = {}

    def reached(self: AuthService, *args: object, **kwargs: object) -> None:
        seen["settings"] = self.settings
        raise Reached

    monkeypatch.setattr(AuthService, "enroll", reached)
    files = [str(FMKIT / f"luduo_luduo_{k:02d}.txt") for k in (1, 2)]
    if command == "enroll":
        argv = ["enroll", "someone", *files]
    else:
        folder = tmp / "batch"
        (folder / "someone").mkdir(parents=True, exist_ok=True)
        for f in files:
            (folder / "someone" / Path(f).name).write_bytes(Path(f).read_bytes())
        argv = ["enroll-batch", str(folder), "--no-progress"]
    code = main([*argv, flag, text, "--store", str(tmp / "flags")])
    err = capsys.readouterr().err
    if "settings" in seen:
        return True, seen.pop("settings")
    assert code == 2
    return False, _error(err)


def _gui(qtbot, win: MainWindow, monkeypatch, name: str, text: str) -> Answer:
    tab = win.users_tab
    keys = [tab.settings.item(i, 0).text() for i in range(tab.settings.rowCount())]
    tab.settings.selectRow(keys.index(name))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (text, True))
    tab.message.show_message("", "info")
    qtbot.mouseClick(tab.change_button, 1)
    qtbot.waitUntil(lambda: not win.runner.busy and tab.message.text() != "", timeout=30_000)
    if tab.message.kind == "bad":
        return False, tab.message.text()
    assert tab.message.text().startswith(f"set {name} = ")
    settings = win.service.settings
    win.service.change_setting(Actor.admin(), name, "default")  # back for the next value
    return True, settings


def _stored(store: EnrollmentStore, name: str, text: str) -> Answer:
    """The value as JSON written with the store's key and seal (``set_setting`` checks
    nothing: what an older AirAuth, or anyone holding the key, may have left), then read."""
    try:
        value = parse(name, text)  # a good value's JSON
    except AirAuthError:
        try:
            value = json.loads(text)
        except ValueError:
            value = text
    key, value = ("lockout", {name: value}) if name in LOCKOUT_KEYS else (name, value)
    store.set_setting(key, value)
    try:
        return True, Settings.from_store(store)
    except AirAuthError as exc:
        assert name in str(exc) or key in str(exc), exc
        return False, str(exc)
    finally:
        store.unset_setting(key)


@pytest.fixture
def win(qtbot, tmp_path: Path):
    store = EnrollmentStore(tmp_path / "gui")
    w = MainWindow(AuthService(store))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()
    store.close()


def test_every_setting_gets_one_answer_on_every_path(qtbot, win, capsys, monkeypatch,
                                                     tmp_path: Path) -> None:
    store = tmp_path / "cli"
    EnrollmentStore(store).close()
    raw = EnrollmentStore(tmp_path / "raw")
    try:
        for name, (good, bad) in CASES.items():
            for text in good + bad:
                cli = _settings_command(capsys, store, name, text)
                answers = {"authapp settings": cli,
                           "GUI settings table": _gui(qtbot, win, monkeypatch, name, text)}
                for command, flag in FLAGS.get(name, []):
                    answers[f"{command} {flag}"] = _flag(capsys, monkeypatch, tmp_path,
                                                         command, flag, text)
                assert cli[0] == (text in good), (name, text, cli)
                assert all(a == cli for a in answers.values()), (name, text, answers)
                stored = _stored(raw, name, text)
                assert stored[0] == cli[0], (name, text, stored)
                if cli[0]:
                    assert stored == cli, (name, text, stored)
    finally:
        raw.close()


def test_the_gui_offers_exactly_the_verifiers_the_check_accepts(win) -> None:
    combo = win.enroll_tab.verifier
    offered = [combo.itemData(i) for i in range(combo.count())]
    assert offered == [None, *verifier_choices()]  # None: the store's setting
    assert combo.itemText(0) == "store setting (fusion)"


def test_verify_store_reports_a_stored_value_the_check_refuses(tmp_path: Path, capsys) -> None:
    """The store checks only a value's keyed checksum; ``verify-store`` also asks the one
    check, as every read of the settings does."""
    with EnrollmentStore(tmp_path / "s") as store:
        store.set_setting("replay_threshold", -1.0)
    assert main(["verify-store", "--store", str(tmp_path / "s")]) == 1
    out = capsys.readouterr().out
    assert "problem: store setting 'replay_threshold' must be a number" in out, out
    login = ["login", "u", str(FMKIT / "luduo_luduo_01.txt"), "--store", str(tmp_path / "s")]
    assert main(login) == 2 and "'replay_threshold'" in capsys.readouterr().err
