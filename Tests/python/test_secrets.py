"""The API key never leaves the process in the clear: not on stdout or stderr of any command, not in a capture
file, not in an error, whether the key is good, wrong, or given in the URL's query."""

import os
import subprocess

from test_cli import STREAMKIT

GOOD = "SKgood7f3a91c0e2d45b8"
WRONG = "SKwrong0d9e8f7a6b5c4"


def start_sim():
    sim = subprocess.Popen([STREAMKIT, "sim", "--port", "0", "--api-key", GOOD, "--speed", "20"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = sim.stdout.readline().strip()
    assert url.startswith("ws://"), url
    return sim, url


def run(args, key, timeout=60):
    env = {k: v for k, v in os.environ.items() if k != "CMC_API_KEY"}
    if key is not None:
        env["CMC_API_KEY"] = key
    return subprocess.run([STREAMKIT, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_key_is_in_no_output_and_no_capture(tmp_path):
    sim, url = start_sim()
    try:
        cap = tmp_path / "cap.ndjson"
        rec = run(["record", "market@crypto_latest_price", "--ids", "1,1027", "--url", url, "--out", str(cap),
                   "--count", "5", "--duration", "30"], GOOD)
        assert rec.returncode == 0, rec.stderr
        # A compressed capture of a URL carrying the key in its query: not in the header, nor anywhere else.
        zcap = tmp_path / "cap.ndjson.zst"
        zrec = run(["record", "market@crypto_latest_price", "--ids", "1", "--url", f"{url}?CMC_PRO_API_KEY={GOOD}",
                    "--out", str(zcap), "--count", "2", "--duration", "30"], GOOD)
        assert zrec.returncode == 0, zrec.stderr
        ztext = subprocess.run(["zstd", "-dc", str(zcap)], capture_output=True, check=True, timeout=30).stdout.decode()
        assert ztext.startswith('{"capture":"streamkit"') and f'"url":"{url}"' in ztext
        watch = run(["watch", "market@crypto_latest_price", "--ids", "1", "--url", url, "--count", "2",
                     "--duration", "30"], GOOD)
        assert watch.returncode == 0, watch.stderr
        # A wrong key: the server closes with 4100, the command fails and says why, without the key.
        bad = run(["watch", "market@crypto_latest_price", "--ids", "1", "--url", url, "--duration", "20"], WRONG)
        assert bad.returncode == 1 and "4100" in bad.stderr, bad.stderr
        # The key in the URL's query (the documented alternative to the header): redacted in what is printed.
        query = run(["watch", "market@crypto_latest_price", "--ids", "1", "--url", f"{url}?CMC_PRO_API_KEY={WRONG}",
                     "--duration", "20"], WRONG)
        assert query.returncode == 1, query.stderr
        texts = [rec.stdout, rec.stderr, zrec.stdout, zrec.stderr, ztext, watch.stdout, watch.stderr, bad.stdout, bad.stderr, query.stdout,
                 query.stderr, cap.read_text()]
        assert len(cap.read_text().splitlines()) >= 5
        for text in texts:
            assert GOOD not in text and WRONG not in text
    finally:
        sim.terminate()
        out, err = sim.communicate(timeout=30)
    assert GOOD not in out + err and WRONG not in out + err
