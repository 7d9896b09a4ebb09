"""The dashboard in a real browser: Debian's headless Chromium (Selenium + chromedriver) loads the
pages served by the monitor (collector + web in one process, as `make monitor` runs it) while a
real host node publishes to a real Mosquitto. Checked in the DOM: the overview's row for the
node, Plotly's SVG traces with their points (trends, spectra), the ISO zone bands and the
defect markers, a capture round trip through the button, live updates without reload, and the
broker / database / schema-violation errors shown on the page. Screenshots are kept in
build/test-artifacts/ (monitor-overview.png, monitor-node.png, monitor-errors.png).
"""
import json
import os
import shutil
import sqlite3
import time
from urllib.request import urlopen

import pytest

from conftest import ROOT, Broker, start_node, write_fs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts")
NODE = "demo-0001"



@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    """Broker, one real host node (the demo's machine, one reading per second), the monitor."""
    import demo
    import monitor
    tmp = tmp_path_factory.mktemp("monitor-web")
    broker = Broker()
    cfg = demo.demo_config("127.0.0.1", broker.port)
    cfg["sampling"]["interval_s"] = 1
    db = str(tmp / "monitor.db")
    collector, server, url = monitor.start_dashboard("127.0.0.1", broker.port, db, http_port=0)
    deadline = time.time() + 10
    while collector.health()["broker"]["state"] != "connected" and time.time() < deadline:
        time.sleep(0.05)
    # the monitor listens before the node boots: it sees the node's first alarm (zone A -> B)
    fs = write_fs(str(tmp / "fs"), cfg)
    log = open(str(tmp / "node.log"), "w")
    node = start_node(fs, stdout=log)
    yield {"url": url, "broker": broker, "collector": collector, "db": db, "node": node}
    node.kill()
    node.wait()
    monitor.stop_dashboard(collector, server)
    broker.stop()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), \
        "chromium / chromium-driver missing: `make setup` installs them (apt-get install chromium chromium-driver)"
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1400"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_script_timeout(10)
    yield d
    d.quit()


def wait(driver, js, timeout=30, what=""):
    """Poll a JavaScript expression until it returns something truthy; return that."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = driver.execute_script("return " + js)
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError("timed out waiting for %s (%s); last value %r" % (what or js, js, last))


def shot(driver, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, name)
    driver.save_screenshot(path)
    assert os.path.getsize(path) > 10000
    return path


# points Plotly drew for each trace of a plot: markers (path.point) or the line's vertices
TRACE_POINTS = """(function(id){ return Array.from(document.querySelectorAll('#' + id + ' .scatterlayer .trace')).map(
  t => Math.max(t.querySelectorAll('.points path.point').length,
                ((t.querySelector('path.js-line') || {getAttribute: () => ''}).getAttribute('d') || '').split(/[LM]/).length - 1)); })"""


def points(driver, plot):
    return driver.execute_script("return " + TRACE_POINTS + "(%s)" % json.dumps(plot))


def test_overview_shows_the_node_live(plant, browser):
    browser.get(plant["url"])
    row = "document.querySelector('#fleet tr[data-node=\"%s\"]')" % NODE
    wait(browser, row + " && " + row + ".cells[2].textContent === 'online'", what="the node's row, online")
    cells = browser.execute_script("return Array.from(%s.cells).map(c => c.textContent)" % row)
    assert cells[1] == "demo-plant"
    assert cells[4] in ("A", "B", "C", "D"), cells          # ISO zone, coloured
    assert browser.execute_script("return %s.querySelector('.zone').className" % row).startswith("zone z")
    assert 0.5 < float(cells[5]) < 10, cells                 # velocity RMS mm/s (the demo machine: zone B)
    assert 0.01 < float(cells[6]) < 1, cells                 # acceleration RMS g
    assert 30 < float(cells[7]) < 60, cells                  # temperature
    assert cells[8].startswith("BPFO"), cells                # the outer-race defect the demo machine has
    n0 = int(cells[13])
    # live: the readings count grows without a reload
    wait(browser, "parseInt(%s.cells[13].textContent) >= %d" % (row, n0 + 2), timeout=15, what="live update")
    assert "connected" in browser.find_element("id", "h-broker").text
    shot(browser, "monitor-overview.png")


def test_node_page_plots_trends_zones_and_a_capture(plant, browser):
    browser.get(plant["url"] + "node/" + NODE)
    # velocity trend: three axes with points, the four ISO zone bands drawn behind them
    wait(browser, "(%s('p-vel')).filter(n => n >= 3).length === 3" % TRACE_POINTS, what="velocity trend points")
    assert browser.execute_script("return document.querySelectorAll('#p-vel .shapelayer path').length") >= 4
    labels = browser.execute_script("return Array.from(document.querySelectorAll('#p-vel .annotation-text')).map(a => a.textContent)")
    assert {"zone A", "zone B", "zone C", "zone D"} <= set(labels), labels
    wait(browser, "(%s('p-temp'))[0] >= 3" % TRACE_POINTS, what="temperature trend")
    # the zone limits come from the node's own configuration (get_config answer)
    wait(browser, "document.getElementById('info').textContent.includes('(node config)')", what="ISO limits from config")
    n_before = points(browser, "p-vel")[0]
    wait(browser, "(%s('p-vel'))[0] > %d" % (TRACE_POINTS, n_before), timeout=15, what="live trend update")

    # capture round trip: the button sends `capture` over MQTT, the node publishes its spectrum
    browser.find_element("id", "cap-spectrum").click()
    wait(browser, "document.getElementById('cap-status').dataset.state === 'arrived'", what="spectrum arrived")
    wait(browser, "(%s('p-spec')).filter(n => n >= 100).length === 3" % TRACE_POINTS, what="spectrum traces")
    ann = browser.execute_script("return Array.from(document.querySelectorAll('#p-spec .annotation-text')).map(a => a.textContent)")
    assert any(a.startswith("1x ") for a in ann) and any(a.startswith("BPFO ") for a in ann), ann                # shaft harmonics and defect markers
    # the plotted values are the node's: the x spectrum's strongest bin holds the dominant
    # frequency the node reported (f0) in the telemetry of the same reading
    from vnmon.store import Store
    x, y = browser.execute_script("var t = document.getElementById('p-spec').data[0]; return [t.x, t.y];")
    seq = json.loads(urlopen(plant["url"] + "api/node/" + NODE).read())["spectrum"]["seq"]
    st = Store(plant["db"])
    f0 = [r for r in st.readings(NODE, full=True) if r["seq"] == seq][0]["payload"]["x"]["f0"]
    st.close()
    f_peak = x[y.index(max(v for v in y if v is not None))]
    assert abs(f_peak - f0) <= (x[1] - x[0]), (f_peak, f0)

    browser.find_element("id", "cap-waveform").click()
    wait(browser, "document.getElementById('cap-status').dataset.state === 'arrived' && "
                  "document.getElementById('cap-status').textContent.includes('waveform')", what="waveform arrived")
    wait(browser, "(%s('p-wave')).filter(n => n >= 100).length === 3" % TRACE_POINTS, what="waveform traces")
    wait(browser, "(%s('p-env')).filter(n => n >= 20).length === 3" % TRACE_POINTS, what="envelope spectrum traces")
    # the demo machine's outer-race defect: the envelope's strongest line sits at BPFO (3.5848 x 24.67 Hz)
    f_env = browser.execute_script("var t = document.getElementById('p-env').data[0];"
                                   "var y = t.y.map((v, i) => t.x[i] > 5 ? v : 0); return t.x[y.indexOf(Math.max(...y))];")
    assert abs(f_env - 3.5848 * 1480 / 60) < 3, f_env
    wait(browser, "(%s('p-alarm'))[0] >= 1" % TRACE_POINTS, what="alarm timeline point")
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "monitor-node.png")


def test_errors_are_shown_on_the_page(plant, browser):
    import paho.mqtt.client as mqtt
    browser.get(plant["url"])
    row = "document.querySelector('#fleet tr[data-node=\"%s\"]')" % NODE
    wait(browser, row, what="the node's row")
    # a schema violation: counted for the node and named in the banner
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-bad-publisher")
    c.connect("127.0.0.1", plant["broker"].port)
    c.loop_start()
    c.publish("vibenode/demo-plant/%s/telemetry" % NODE, json.dumps({"node": NODE, "seq": "x"}), qos=1).wait_for_publish(5)
    c.loop_stop()
    c.disconnect()
    wait(browser, "%s.querySelector('.invalid').textContent === '1'" % row, what="violation counted for the node")
    assert "telemetry schema" in browser.find_element("id", "h-invalid").text

    # the database locked by another writer: the page says so; the readings wait in memory
    lock = sqlite3.connect(plant["db"], timeout=1)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        wait(browser, "document.getElementById('h-db').className.includes('bad')", timeout=20, what="database error shown")
        assert "locked" in browser.find_element("id", "h-db").text
    finally:
        lock.rollback()
        lock.close()
    wait(browser, "document.getElementById('h-db').className.includes('ok')", timeout=20, what="database back")
    assert "lost" not in browser.find_element("id", "h-db").text

    # the broker gone: the page says it is unreachable and that the collector retries
    plant["broker"].kill()
    wait(browser, "document.getElementById('h-broker').textContent.includes('unreachable')", timeout=20,
         what="broker unreachable shown")
    wait(browser, "document.getElementById('h-broker').textContent.includes('retrying')", timeout=20,
         what="retry shown")
    shot(browser, "monitor-errors.png")


def test_make_demo_prints_the_dashboard_url_and_it_plots_live(browser):
    """tools/demo.py (what `make demo` runs) starts the monitor beside its terminal lines."""
    import re
    import signal
    import subprocess
    import sys
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--duration", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        for line in p.stdout:
            m = re.search(r"dashboard at (http://127\.0\.0\.1:\d+/)", line)
            if m:
                url = m.group(1)
                break
        assert url, "demo printed no dashboard URL"
        browser.get(url + "node/" + NODE)
        wait(browser, "(%s('p-vel')).filter(n => n >= 2).length === 3" % TRACE_POINTS, timeout=40,
             what="the demo's velocity trend in the browser")
        browser.get(url)
        wait(browser, "document.querySelector('#fleet tr[data-node=\"%s\"] .zone')" % NODE, what="the demo node's row")
    finally:
        p.send_signal(signal.SIGTERM)
        out = p.communicate(timeout=30)[0]
    assert p.returncode == 0, out[-2000:]
    assert "demo: stopped; node and broker cleaned up" in out, out[-2000:]
