"""The interactive graph view and the run player in JupyterLab, in a real browser.

This module writes a small notebook (a tiny kernel: a page bought, an echo domain built and
called; a ``GraphView`` with a label the notebook updates on each pick; a ``RunPlayer``), runs
it, then does what a reader would: hovers the console's vertex and checks the tooltip shows
its kind, state and program; hovers a key and checks the tooltip shows its type and slot;
clicks the vertex and checks the pick reached Python (the label); drags the player's slider
and presses play and checks that the seq, the event and the graph shown change, while the
first view's WebGL contexts stay alive. Sigma draws with WebGL (SwiftShader in headless
chromium, see ``CHROMIUM_ARGS``); where a vertex is on the screen comes from the renderer
itself (``keykosView``, which the front end leaves on its box for tests). Every request to a
host other than the local server is refused and must not happen. Screenshots go to
``build/ui-artifacts/``.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from lab_harness import ARTIFACTS
from test_jupyterlab import (
    CLICK_TIMEOUT,
    contract_notebook,
    open_notebook,
    problems_on_page,
    run_all_cells,
    widget_errors,
)

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_graph_view.ipynb"
STATUS = re.compile(r"seq (\d+) of (\d+)–(\d+) · (.*?) · graph: (\d+) vertices, (\d+) keys", re.S)

CELLS = [
    """import ipywidgets as widgets
import keykos_lab as kl
from keykos_lab.widgets import GraphView, RunPlayer

k = kl.Kernel(); con = k.console
graphs = []          # (last seq of a call, the graph just after it): graph_at for the player
page = con.call(con["bank"], kl.oc.SB.CreatePage).keys[0]
graphs.append((len(k.log) - 1, k.capability_graph()))
echo = kl.start_key(con, kl.build_domain(con, "echo"))
graphs.append((len(k.log) - 1, k.capability_graph()))
con.call(echo, 5, page, data=b"ping")
graphs.append((len(k.log) - 1, k.capability_graph()))""",
    """view = GraphView(k.capability_graph(), height=420)
picked = widgets.HTML("picked: nothing yet").add_class("ui-picked")


def show_pick(change):
    v = change["new"]
    kind = view.H.nodes[view.where.get(v, str(v))]["kind"] if v is not None else ""
    picked.value = f"picked: {view.name(v)} [{kind}]" if v is not None else "picked: nothing"


view.observe(show_pick, names="picked")
widgets.VBox([view.widget, picked]).add_class("ui-graphview")""",
    """player = RunPlayer(k, graph_at=lambda s: next(G for last, G in graphs if s <= last),
                   window=3, interval=250, height=360)
player""",
    """assert view.interactive and player.view.interactive and view.sigma is not None
assert player.state["seq"] == 0 and view.picked is None""",
]

# Where vertex ``label`` (or the middle of a key from it) is on the screen, from the renderer.
WHERE = """([box, label, edge]) => {
  const root = document.querySelector(box);
  const { renderer, graph } = root.keykosView;
  const key = graph.findNode((k, a) => a.label === label);
  const rect = root.querySelector('.keykos-gv-stage').getBoundingClientRect();
  const at = (k) => renderer.framedGraphToViewport(renderer.getNodeDisplayData(k));
  let p = at(key);
  if (edge) {  // the longest key out of the vertex: its middle is clear of other vertices
    let best = null, far = -1;
    graph.forEachOutNeighbor(key, (n) => {
      const q = at(n), d = Math.hypot(q.x - p.x, q.y - p.y);
      if (d > far) { far = d; best = q; }
    });
    p = { x: (p.x + best.x) / 2, y: (p.y + best.y) / 2 };
  }
  return { x: rect.left + p.x, y: rect.top + p.y, key, order: graph.order };
}"""

# The WebGL contexts of the first view on the page that the browser has taken back.
LOST = """(box) => [...document.querySelector(box).querySelectorAll('canvas')]
  .map(c => c.getContext('webgl2') || c.getContext('webgl'))
  .filter(gl => gl && gl.isContextLost()).length"""

ORDER = "(box) => document.querySelector(box).keykosView.graph.order"


def notebook() -> dict:
    nb = contract_notebook()
    nb["cells"] = [dict(nb["cells"][0], id=f"cell-{i}", source=src) for i, src in enumerate(CELLS)]
    return nb


def status(page) -> tuple[int, str, int, int]:
    text = page.locator(".keykos-player-status").first.text_content() or ""
    m = STATUS.search(text)
    assert m, f"the player's status line: {text!r}"
    return int(m[1]), m[4], int(m[5]), int(m[6])


def save(page, tag: str) -> None:
    """Screenshots of the page, the view and the player; the notes (never hides an error)."""
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{tag}-page.png"), full_page=True)
        for name, sel in (("view", ".ui-graphview"), ("player", ".keykos-player")):
            el = page.locator(sel).first
            if el.count():
                el.screenshot(path=str(ARTIFACTS / f"{tag}-{name}.png"), timeout=5_000)
        notes = {
            "url": page.url,
            "refused_outside_requests": page.refused_requests,
            "console_errors": page.console_errors,
        }
        (ARTIFACTS / f"{tag}-notes.json").write_text(json.dumps(notes, indent=2) + "\n")
    except Exception as exc:  # a crashed page: the test's own error says more
        print(f"{tag}: artifacts not saved: {exc}")


def test_graph_view_and_run_player_in_jupyterlab(page, lab_server, lab_root):
    from playwright.sync_api import expect

    path = lab_root / NOTEBOOK
    path.write_text(json.dumps(notebook(), indent=1))
    started = time.monotonic()
    try:
        open_notebook(page, lab_server, NOTEBOOK)
        run_all_cells(page)
        problems = problems_on_page(page, len(CELLS))
        assert not problems, "\n".join(problems)

        # --- the graph view: drawn, hovered, clicked ----------------------------------------
        root = ".ui-graphview .keykos-gv"
        page.locator(f"{root} canvas").first.wait_for(timeout=CLICK_TIMEOUT)
        page.locator(root).scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # the first frame drawn
        tooltip = page.locator(f"{root} .keykos-gv-tooltip")
        assert not tooltip.is_visible()

        edge = page.evaluate(WHERE, [root, "console", True])
        page.mouse.move(edge["x"] - 30, edge["y"] - 30)
        page.mouse.move(edge["x"], edge["y"], steps=6)
        expect(tooltip).to_be_visible(timeout=CLICK_TIMEOUT)
        text = tooltip.text_content() or ""
        # a key's tooltip (this one or one crossing it there): holder → target, type, slot …
        for field in (" → ", "key_type", "slot", "databyte", "rights", " key in "):
            assert field in text, f"the key's tooltip lacks {field!r}: {text!r}"

        where = page.evaluate(WHERE, [root, "console", False])
        page.mouse.move(where["x"] + 40, where["y"] + 40)
        page.mouse.move(where["x"], where["y"], steps=6)
        expect(tooltip).to_contain_text("running", timeout=CLICK_TIMEOUT)
        text = tooltip.text_content() or ""
        for field in ("kind", "domain", "state", "program", "console"):
            assert field in text, f"the vertex's tooltip lacks {field!r}: {text!r}"
        page.locator(root).screenshot(path=str(ARTIFACTS / "graphview-hover.png"))

        page.mouse.click(where["x"], where["y"])
        label = page.locator(".ui-picked")
        expect(label).to_have_text("picked: console [domain]", timeout=CLICK_TIMEOUT)
        expect(page.locator(".ui-graphview .keykos-graphview-status")).to_contain_text(
            "picked: console"
        )

        # --- the run player: scrub, then play -----------------------------------------------
        player = page.locator(".keykos-player").first
        player.scroll_into_view_if_needed()
        seq0, event0, vertices0, keys0 = status(page)
        assert seq0 == 0, f"the player starts at seq 0, not {seq0}"
        drawn0 = page.evaluate(ORDER, ".keykos-player .keykos-gv")
        handle = player.locator(".noUi-handle").first
        handle.evaluate("e => e.scrollIntoView({block: 'center'})")  # clear of the tab bar
        hb = handle.bounding_box()
        tb = player.locator(".noUi-target").first.bounding_box()
        assert hb and tb
        page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
        page.mouse.down()
        page.mouse.move(tb["x"] + tb["width"] * 0.8, hb["y"] + hb["height"] / 2, steps=8)
        page.mouse.up()
        page.wait_for_function(
            "() => !/seq 0 of/.test(document.querySelector('.keykos-player-status').textContent)",
            timeout=CLICK_TIMEOUT,
        )
        seq1, event1, vertices1, keys1 = status(page)
        assert seq1 > seq0 and (vertices1, keys1) != (vertices0, keys0), (seq1, vertices1, keys1)
        page.wait_for_function(
            f"(b) => ({ORDER})(b) !== {drawn0}",
            arg=".keykos-player .keykos-gv",
            timeout=CLICK_TIMEOUT,
        )  # the player's graph view redrew with the graph of that moment
        current = player.locator(".keykos-player-events tr.current")
        expect(current).to_contain_text(str(seq1))
        save(page, "graphview-scrubbed")

        play = player.locator(".widget-play button").first
        handle.focus()
        page.keyboard.press("Home")  # the slider to its start: play has a run to show
        page.wait_for_function(
            "() => /seq 0 of/.test(document.querySelector('.keykos-player-status').textContent)",
            timeout=CLICK_TIMEOUT,
        )
        play.click()
        page.wait_for_function(
            "() => { const m = /seq (\\d+) of/.exec("
            "document.querySelector('.keykos-player-status').textContent);"
            " return m && +m[1] >= 3; }",
            timeout=CLICK_TIMEOUT,
        )
        seq2, event2, *_ = status(page)
        assert seq2 >= 3
        player.locator(".widget-play button").nth(1).click()  # pause
        # updates reuse one renderer: the first view still has its WebGL contexts
        assert page.evaluate(LOST, ".ui-graphview .keykos-gv") == 0
        assert not widget_errors(page), widget_errors(page)
        assert page.refused_requests == [], f"outside requests: {page.refused_requests}"
    except Exception as exc:
        raise AssertionError(
            f"graph view: {exc}\n--- jupyter lab log (tail) ---\n{lab_server.log_tail()}"
        ) from exc
    finally:
        save(page, "graphview")
        print(f"graph view and player: {time.monotonic() - started:.1f} s in the browser")
