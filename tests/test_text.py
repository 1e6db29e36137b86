"""ganutils._text.say: what the package prints fits the book's 80 columns and loses nothing."""

from ganutils._text import WIDTH, say


def test_long_lines_wrap_at_the_column_and_keep_every_word(capsys):
    words = " ".join(f"word{i}" for i in range(60))
    say(words, "  " + words)
    out = capsys.readouterr().out.splitlines()
    assert WIDTH == 80 and all(len(line) <= 80 for line in out)
    assert len(out) > 4
    assert " ".join(out).split() == (words + " " + words).split()
    # a continued line is indented two spaces more than its first line
    second = out.index(next(line for line in out if line.startswith("  word0")))
    assert out[second + 1].startswith("    word")


def test_a_path_longer_than_the_column_stays_whole(capsys):
    path = "/tmp/" + "a" * 120 + "/checkpoint"
    say(f"saved to {path}. Run fit() again to continue.")
    out = capsys.readouterr().out.splitlines()
    # on a line of its own (the continuation's indent, the sentence's full stop), unbroken,
    # so that it can be copied
    (whole,) = [line for line in out if path in line]
    assert whole.strip() == path + "."
    assert all(len(line) <= 80 for line in out if line is not whole)
