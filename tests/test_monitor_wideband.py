"""The dashboard with a wide-band node (IIS3DWB, `make demo CHIP=iis3dwb`'s machine) in a real browser:
the node page plots the node's own envelope-spectrum capture (kind "envelope", streamed at 26.7 kHz,
features/stream.py) with the defect markers and the band in use, and its full-rate spectrum and
short single-axis waveform captures (vibenode/wideband.py)."""
import json
import time
from urllib.request import urlopen

import pytest

from conftest import Broker, start_node, write_fs
from test_monitor_web import TRACE_POINTS, browser, shot, wait  # noqa: F401 (browser: the fixture)

NODE = "demo-0001"


@pytest.fixture(scope="module")
def wide_plant(tmp_path_factory):
    import demo
    import monitor
    tmp = tmp_path_factory.mktemp("monitor-wide")
    broker = Broker()
    cfg = demo.demo_config("127.0.0.1", broker.port, chip="iis3dwb")
    # emulated time: streaming 3 x 26.7 kHz in real time needs a core to itself on the host (its
    # emulator computes every sample); the node's windows and captures are the same either way
    cfg["board"]["realtime"] = False
    db = str(tmp / "monitor.db")
    collector, server, url = monitor.start_dashboard("127.0.0.1", broker.port, db, http_port=0)
    deadline = time.time() + 10
    while collector.health()["broker"]["state"] != "connected" and time.time() < deadline:
        time.sleep(0.05)
    fs = write_fs(str(tmp / "fs"), cfg)
    log = open(str(tmp / "node.log"), "w")
    node = start_node(fs, stdout=log)
    yield {"url": url, "cfg": cfg}
    node.kill()
    node.wait()
    log.close()
    monitor.stop_dashboard(collector, server)
    broker.stop()


def _capture(browser, kind):
    browser.find_element("id", "cap-" + kind).click()
    wait(browser, "document.getElementById('cap-status').dataset.state === 'arrived' && "
                  "document.getElementById('cap-status').textContent.includes('%s')" % kind, timeout=40,
         what=kind + " arrived")


def test_node_page_plots_the_wideband_nodes_envelope_capture(wide_plant, browser):
    browser.get(wide_plant["url"] + "node/" + NODE)
    wait(browser, "(%s('p-vel')).filter(n => n >= 1).length === 3" % TRACE_POINTS, timeout=40, what="velocity trend")
    wait(browser, "document.getElementById('info').textContent.includes('(node config)')", timeout=70,
         what="the node's config (asked again every 30 s)")
    _capture(browser, "envelope")
    wait(browser, "(%s('p-env')).filter(n => n >= 20).length === 3" % TRACE_POINTS, what="envelope traces")
    src = browser.find_element("id", "env-src").text
    assert "node's envelope capture" in src and "band 2000-6000 Hz" in src, src
    # the demo machine's outer-race defect: the strongest envelope line at BPFO (3.5848 x 1480 rpm)
    x, y = browser.execute_script("var t = document.getElementById('p-env').data[0];"
                                  "return [t.x, t.y.map((v, i) => t.x[i] > 5 ? v : 0)];")
    df = x[1] - x[0]
    f_env = x[y.index(max(y))]
    assert abs(f_env - 3.5848 * 1480 / 60) <= 1.5 * df, (f_env, df)
    ann = browser.execute_script("return Array.from(document.querySelectorAll('#p-env .annotation-text'))"
                                 ".map(a => a.textContent)")
    assert any(a.startswith("BPFO ") for a in ann), ann
    api = json.loads(urlopen(wide_plant["url"] + "api/node/" + NODE).read())
    assert api["envelope"]["source"] == "node" and api["envelope"]["band"] == [2000, 6000]
    shot(browser, "monitor-node-wideband.png")
    # the full rate on request: a spectrum to half the 26.7 kHz rate, then a short block per axis
    _capture(browser, "spectrum")
    wait(browser, "(%s('p-spec')).filter(n => n >= 200).length === 3" % TRACE_POINTS, what="full-rate spectrum traces")
    fmax = browser.execute_script("var t = document.getElementById('p-spec').data[0]; return t.x[t.x.length - 1];")
    assert 13000 < fmax < 13400, fmax
    _capture(browser, "waveform")
    wait(browser, "(%s('p-wave')).filter(n => n >= 1000).length === 3" % TRACE_POINTS, what="waveform traces")
    # now the newer capture is the waveform: the envelope panel says it is computed from it
    wait(browser, "document.getElementById('env-src').textContent.includes('latest waveform')", what="panel source")
