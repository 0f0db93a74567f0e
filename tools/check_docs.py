"""Open every page of the built docs site in headless Chromium and check it: it loads (HTTP 200, a title, content
in <main>), and every <img> resolves to a non-empty image; the executed chapters must show figures.

Needs Debian's `chromium` (apt-get install chromium). Usage: python tools/check_docs.py [--site _docs]"""
import argparse, base64, functools, http.server, json, shutil, subprocess, sys, tempfile, threading, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio"]
NEED_FIGURES = ["05_eda", "07g_train", "08b_evaluate"]   # executed chapters that must show at least one figure
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"<svg", b"<?xml", b"RIFF")

class PageParser(HTMLParser):
    "Collects a page's <title>, the text inside <main> and the src of every <img>."
    def __init__(self):
        super().__init__(); self.title, self.main_text, self.imgs, self._in = "", 0, [], []
    def handle_starttag(self, tag, attrs):
        if tag in ("title", "main", "style", "script"): self._in.append(tag)
        if tag == "img": self.imgs.append(dict(attrs).get("src") or "")
    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag: self._in.pop()
    def handle_data(self, data):
        if "title" in self._in: self.title += data
        if "main" in self._in and not {"style", "script"} & set(self._in): self.main_text += len(data.strip())

def serve(site:Path):
    "Serve `site` on a free 127.0.0.1 port from a thread; returns (server, base URL)."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):   # the browser hanging up early is not a failure
            if not isinstance(sys.exc_info()[1], ConnectionError): super().handle_error(request, client_address)
    srv = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"

def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name): return shutil.which(name)
    sys.exit("check_docs: no chromium on PATH (Debian: apt-get install chromium)")

def chromium(browser:str, url:str, *extra, timeout=90) -> str:
    "Run headless Chromium on `url` with a throwaway profile; returns stdout (the DOM with --dump-dom)."
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                           capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0: raise RuntimeError(f"chromium failed on {url}: {r.stderr.strip()[-300:]}")
    return r.stdout

def image_bytes(src:str, page_url:str) -> bytes:
    "The bytes an <img src> points at: a data: URI decoded, anything else fetched from the local server."
    if src.startswith("data:"):
        head, _, data = src.partition(",")
        return base64.b64decode(data) if ";base64" in head else data.encode()
    with urlopen(urljoin(page_url, src), timeout=10) as r: return r.read() if r.status == 200 else b""

def check_page(browser:str, base:str, name:str) -> dict:
    "Load one page; returns its title, content size, figure count and a list of problems."
    url = base + name
    with urlopen(url, timeout=10) as r: status = r.status
    p = PageParser(); p.feed(chromium(browser, url, "--dump-dom", "--virtual-time-budget=3000"))
    problems = [] if status == 200 else [f"HTTP {status}"]
    if not p.title.strip(): problems.append("empty <title>")
    if p.main_text < 200: problems.append(f"<main> holds only {p.main_text} characters")
    figures = 0
    for src in p.imgs:
        data = image_bytes(src, url) if src else b""
        if not data.startswith(IMAGE_MAGIC) or len(data) < 100: problems.append(f"image does not resolve: {src[:60]}")
        else: figures += 1
    return dict(page=name, title=p.title.strip(), main_chars=p.main_text, figures=figures, problems=problems)

def crop_to_figures(png:Path, height:int, step=100) -> int:
    "Crop a tall page screenshot to the `height` px band densest in ink (the figures); returns its top."
    import numpy as np
    from PIL import Image
    im = Image.open(png).convert("RGB"); px = np.asarray(im).astype(int)
    ink = ((px.max(2) - px.min(2) > 40) | (px.max(2) < 180)).sum(1)      # coloured or dark pixels per row
    colour = np.where(ink > 300, ink, 0); colour[:80] = 0                   # dense rows only (figures, not code text)
    starts = range(0, max(1, len(colour) - height + 1), step)
    top = max(starts, key=lambda s: colour[s:s+height].sum())
    im.crop((0, top, im.width, min(top + height, im.height))).quantize(256).save(png, optimize=True)
    return top

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", default=ROOT/"_docs", type=Path)
    ap.add_argument("--screenshots", default="05_eda,08b_evaluate", help="pages to screenshot, comma-separated")
    ap.add_argument("--shots-dir", default=ROOT/"_docs_check", type=Path)
    ap.add_argument("--size", default="1280,2000", help="screenshot window width,height")
    a = ap.parse_args(argv)
    if not (a.site/"index.html").exists(): sys.exit(f"check_docs: {a.site}/index.html missing: run `make docs` first")
    build = json.loads((a.site/"build.json").read_text()) if (a.site/"build.json").exists() else {}
    browser, (srv, base) = find_chromium(), serve(a.site)
    pages = sorted(p.name for p in a.site.glob("*.html") if p.name != "404.html")
    results, t0 = [], time.time()
    for name in pages:
        t = time.time(); r = check_page(browser, base, name); r["seconds"] = round(time.time() - t, 1)
        stem = name.removesuffix(".html")
        if stem in build.get("executed", []) and stem in NEED_FIGURES and r["figures"] < 1:
            r["problems"].append("executed chapter shows no figure")
        if stem == "12_results" and r["figures"] < 2: r["problems"].append("results chapter shows fewer than 2 figures")
        results.append(r)
        print(f"{'ok  ' if not r['problems'] else 'FAIL'} {name:28} {r['figures']:3d} figures {r['main_chars']:7d} chars"
              f"{r['seconds']:5.1f} s  {'; '.join(r['problems'])}")
    a.shots_dir.mkdir(exist_ok=True)
    width, height = map(int, a.size.split(","))
    for stem in filter(None, a.screenshots.split(",")):
        shot = a.shots_dir/f"{stem}.png"
        chromium(browser, f"{base}{stem}.html", f"--screenshot={shot}", f"--window-size={width},{height*6}")
        top = crop_to_figures(shot, height)
        print(f"screenshot {shot} ({shot.stat().st_size} bytes; {height} px from {top} px down, where the figures are)")
    srv.shutdown()
    bad = [r for r in results if r["problems"]]
    summary = dict(what="docs site opened page by page in headless Chromium (tools/check_docs.py)",
                   command="make docs-check", date=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                   browser=subprocess.run([browser, "--version"], capture_output=True, text=True).stdout.strip(),
                   site=str(a.site), run=build.get("run"), pages=len(results),
                   figures=sum(r["figures"] for r in results),
                   failed=len(bad), seconds=round(time.time() - t0, 1), results=results)
    (a.shots_dir/"check.json").write_text(json.dumps(summary, indent=1))
    print(f"{len(results)} pages, {summary['figures']} figures, {len(bad)} failed, {summary['seconds']} s")
    return 1 if bad else 0

if __name__ == "__main__": raise SystemExit(main())
