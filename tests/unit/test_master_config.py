"""MasterConfig: defaults, precedence (flags > env > file > defaults), validation."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from cloud_master.config import MasterConfig, default_state_dir, load_master_config
from cloud_master.errors import ConfigError, MasterError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "master.yaml"
    path.write_text(text)
    return path


def test_defaults_follow_salt(tmp_path: Path) -> None:
    cfg = load_master_config(environ={"EDGEFLEET_STATE_DIR": str(tmp_path)})
    assert (cfg.interface, cfg.publish_port, cfg.ret_port) == ("0.0.0.0", 4505, 4506)
    assert (cfg.auto_accept, cfg.permissive_pki_access, cfg.sign_pub_messages, cfg.zmq_filtering) == (
        False, False, True, False)
    assert (cfg.keep_jobs_seconds, cfg.job_ttl, cfg.timeout, cfg.gather_job_timeout) == (
        86400, 86400, 5.0, 10.0)
    assert (cfg.max_minions, cfg.worker_threads, cfg.max_message_size) == (0, 5, 10 * 1024 * 1024)
    assert cfg.nodegroups == {} and cfg.autosign_file is None and cfg.log_file is None


def test_directories_derive_from_state_dir(tmp_path: Path) -> None:
    cfg = load_master_config(environ={"EDGEFLEET_STATE_DIR": str(tmp_path)})
    assert cfg.state_dir == tmp_path
    assert cfg.pki_dir == tmp_path / "pki"
    assert cfg.cache_dir == tmp_path / "cache"
    assert cfg.sock_dir == tmp_path / "sock"
    assert cfg.jobs_db == tmp_path / "cache" / "jobs.sqlite"


def test_default_state_dir_without_the_environment_variable(tmp_path: Path) -> None:
    expected = (Path("/var/lib/edgefleet/master") if os.geteuid() == 0
                else tmp_path / "xdg" / "edgefleet" / "master")
    assert default_state_dir({"XDG_STATE_HOME": str(tmp_path / "xdg")}) == expected
    assert load_master_config(environ={"XDG_STATE_HOME": str(tmp_path / "xdg")}).state_dir == expected


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "publish_port: 1111\nret_port: 1112\ntimeout: 7\nlog_level: info\n")
    env = {"EDGEFLEET_STATE_DIR": str(tmp_path), "EDGEFLEET_RET_PORT": "2222",
           "EDGEFLEET_TIMEOUT": "8", "EDGEFLEET_INTERFACE": "127.0.0.1"}
    cfg = load_master_config({"timeout": 9, "log_level": None}, env, path)
    assert cfg.publish_port == 1111          # file over default
    assert cfg.ret_port == 2222              # env over file
    assert cfg.timeout == 9.0                # flag over env
    assert cfg.log_level == "info"           # a flag left at None does not override
    assert cfg.interface == "127.0.0.1"      # env over default
    assert cfg.gather_job_timeout == 10.0    # default


def test_file_values_of_every_kind(tmp_path: Path) -> None:
    path = write(tmp_path, f"""
state_dir: {tmp_path}/s
auto_accept: true
autosign_file: {tmp_path}/autosign.conf
keep_jobs_seconds: 3600
nodegroups:
  kitchen: 'pi-kitchen-*'
  labs: [pi-lab-1, pi-lab-2]
""")
    cfg = load_master_config(environ={}, path=path)
    assert cfg.state_dir == tmp_path / "s"
    assert cfg.auto_accept is True
    assert cfg.autosign_file == tmp_path / "autosign.conf"
    assert cfg.keep_jobs_seconds == 3600
    assert cfg.nodegroups == {"kitchen": "pi-kitchen-*", "labs": ["pi-lab-1", "pi-lab-2"]}


def test_environment_strings_are_coerced(tmp_path: Path) -> None:
    env = {"EDGEFLEET_STATE_DIR": str(tmp_path), "EDGEFLEET_AUTO_ACCEPT": "yes",
           "EDGEFLEET_ZMQ_FILTERING": "0", "EDGEFLEET_MAX_MINIONS": "12",
           "EDGEFLEET_NODEGROUPS": '{"g": "pi-*"}', "EDGEFLEET_LOG_FILE": "~/m.log"}
    cfg = load_master_config(environ=env)
    assert cfg.auto_accept is True and cfg.zmq_filtering is False and cfg.max_minions == 12
    assert cfg.nodegroups == {"g": "pi-*"}
    assert cfg.log_file == Path("~/m.log").expanduser()


@pytest.mark.parametrize("env_name, value, message", [
    ("EDGEFLEET_AUTO_ACCEPT", "maybe", "auto_accept"),
    ("EDGEFLEET_PUBLISH_PORT", "abc", "publish_port"),
    ("EDGEFLEET_PUBLISH_PORT", "70000", "not a TCP port"),
    ("EDGEFLEET_RET_PORT", "4505", "both 4505"),
    ("EDGEFLEET_TIMEOUT", "0", "timeout"),
    ("EDGEFLEET_KEEP_JOBS_SECONDS", "-1", "keep_jobs_seconds"),
    ("EDGEFLEET_LOG_LEVEL", "loud", "log_level"),
    ("EDGEFLEET_NODEGROUPS", "[1, 2]", "nodegroups"),
    ("EDGEFLEET_STATE_DIR", "", "state_dir"),
])
def test_bad_values_fail_with_the_option_named(tmp_path: Path, env_name: str, value: str,
                                               message: str) -> None:
    env = {"EDGEFLEET_STATE_DIR": str(tmp_path), env_name: value}
    with pytest.raises(ConfigError, match=message):
        load_master_config(environ=env)


def test_unknown_file_key_fails_naming_key_file_and_a_close_match(tmp_path: Path) -> None:
    path = write(tmp_path, "publish_prot: 4505\n")
    with pytest.raises(ConfigError) as info:
        load_master_config(environ={}, path=path)
    text = str(info.value)
    assert "'publish_prot'" in text and str(path) in text and "did you mean 'publish_port'" in text


@pytest.mark.parametrize("key, hint", [("keep_jobs", "keep_jobs_seconds"), ("pki_dir", "state_dir"),
                                       ("cachedir", "state_dir")])
def test_salt_options_that_moved_say_where(tmp_path: Path, key: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint):
        load_master_config(environ={}, path=write(tmp_path, f"{key}: 24\n"))


def test_unknown_override_fails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'bogus'"):
        load_master_config({"bogus": 1}, {"EDGEFLEET_STATE_DIR": str(tmp_path)})


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "must hold a mapping"),
    ("a: [\n", "not valid YAML"),
])
def test_bad_files_fail_clearly(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_master_config(environ={}, path=write(tmp_path, text))


def test_missing_file_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file") as info:
        load_master_config(environ={}, path=tmp_path / "absent.yaml")
    assert isinstance(info.value.__cause__, OSError)


def test_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    cfg = load_master_config(environ={"EDGEFLEET_STATE_DIR": str(tmp_path)}, path=write(tmp_path, ""))
    assert cfg.publish_port == 4505


def test_config_is_frozen_and_errors_are_value_errors(tmp_path: Path) -> None:
    cfg = MasterConfig(state_dir=tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.publish_port = 1  # type: ignore[misc]
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, MasterError)
