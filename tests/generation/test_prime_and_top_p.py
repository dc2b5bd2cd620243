"""generate.py --top-p and --prime-file, and the API's top_p and prime_file."""

import pytest

import charlstm
from conftest import run_main


def test_top_p_one_equals_plain_sampling_and_a_tiny_top_p_equals_greedy(tiny_checkpoint):
    common = dict(length=60, prime="alice was ", seed=3, verbose=0)
    plain = charlstm.generate(tiny_checkpoint, temperature=0.9, **common)
    assert charlstm.generate(tiny_checkpoint, temperature=0.9, top_p=1.0, **common) == plain
    greedy = charlstm.generate(tiny_checkpoint, **common)
    assert charlstm.generate(tiny_checkpoint, temperature=0.9, top_p=1e-6, **common) == greedy
    flags = ["--weights", tiny_checkpoint, "--length", "60", "--prime", "alice was ",
             "--seed", "3", "--raw", "--temperature", "0.9"]
    assert run_main("generate.py", *flags, "--top-p", "1").stdout == plain + "\n"
    assert run_main("generate.py", *flags, "--top-p", "0.000001").stdout == greedy + "\n"


def test_prime_file_is_read_as_utf8_by_the_prime_rules(tiny_checkpoint, tmp_path):
    prime = tmp_path / "prime.txt"
    long_prime = ("Alice was beginning to get very tired of sitting by her sister on the "
                  "bank, and of having nothing to do: ") * 3
    prime.write_bytes(b"\xef\xbb\xbf" + long_prime.encode("utf-8"))  # with a byte-order mark
    from_file = charlstm.generate(tiny_checkpoint, length=40, prime_file=str(prime), verbose=0)
    assert from_file == charlstm.generate(tiny_checkpoint, length=40, prime=long_prime,
                                          verbose=0)
    result = run_main("generate.py", "--weights", tiny_checkpoint, "--length", "40",
                      "--prime-file", str(prime))
    assert result.returncode == 0, result.stderr
    assert long_prime.lower() in result.stdout and from_file in result.stdout


@pytest.mark.parametrize("content, message", [
    (None, "prime file '.*missing.txt': No such file or directory"),
    (b"alice \xff was", "prime file '.*' is not UTF-8 text \\(byte 6 is 0xff\\)"),
    (b"", "--prime-file is empty"),
    ("alice ✓".encode("utf-8"), "the prime file '.*' has 1 character\\(s\\) the model does not know: '✓'"),
])
def test_bad_prime_files_are_one_line(tiny_checkpoint, tmp_path, content, message):
    path = tmp_path / "missing.txt"
    if content is not None:
        path = tmp_path / "prime.txt"
        path.write_bytes(content)
    with pytest.raises(charlstm.UserError, match=message):
        charlstm.generate(tiny_checkpoint, length=5, prime_file=str(path), verbose=0)
    result = run_main("generate.py", "--weights", tiny_checkpoint, "--prime-file", str(path))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()[-1]) > 0
    assert "Traceback" not in result.stderr


def test_prime_and_prime_file_together_is_a_flag_error(tiny_checkpoint, tmp_path):
    result = run_main("generate.py", "--weights", tiny_checkpoint, "--prime", "a",
                      "--prime-file", str(tmp_path / "x"))
    assert result.returncode == 2 and "not allowed with argument" in result.stderr
    with pytest.raises(charlstm.UserError, match="give --prime or --prime-file, not both"):
        charlstm.generate(tiny_checkpoint, prime="a", prime_file=str(tmp_path / "x"), verbose=0)


@pytest.mark.parametrize("value", ["0", "1.5", "x"])
def test_top_p_outside_0_to_1_is_a_flag_error(tiny_checkpoint, value):
    result = run_main("generate.py", "--weights", tiny_checkpoint, "--temperature", "1",
                      "--top-p", value)
    assert result.returncode == 2 and "argument --top-p" in result.stderr
