//! The diagram in a real browser: headless Chromium (installed by `scripts/setup-browser`,
//! which the README's test command runs first) opens the pages `ticketsim diagram` writes
//! for the flagship race and for a full-system run with seven violations, and a probe
//! script, added to a copy of each page, checks what a reader relies on: every violation
//! is listed and its link leads to a view on screen; the events drawn as making a
//! violation are tagged with its invariant and name its records; no text runs past its
//! picture or the page past the window. A screenshot of each page is kept in
//! `target/tmp/test-artifacts/`. With no browser the test fails, saying how to install one.

use std::path::{Path, PathBuf};
use std::process::Command;

const PROBE: &str = r#"<script>
(function () {
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  var r = { listed: 0, links: [], sections: [], texts: 0, overflow: [], page_overflow: false };
  document.querySelectorAll('ol.violations li').forEach(function (li) {
    r.listed++;
    var a = li.querySelector('a');
    if (!a) { r.links.push({ id: null, found: false, visible: false }); return; }
    var id = a.getAttribute('href').slice(1), t = document.getElementById(id), b = t && t.getBoundingClientRect();
    r.links.push({ id: id, found: !!t, visible: !!b && b.width > 0 && b.height > 0 });
  });
  var word = function (text, w) {
    var i = text.indexOf(w);
    while (i >= 0) {
      var before = text.charAt(i - 1), after = text.charAt(i + w.length);
      if (!/[A-Za-z0-9]/.test(before) && !/[A-Za-z0-9]/.test(after)) return true;
      i = text.indexOf(w, i + 1);
    }
    return false;
  };
  document.querySelectorAll('section.violation-view').forEach(function (sec) {
    var records = sec.dataset.records.split(' ').filter(Boolean), invariant = sec.dataset.invariant, s = { id: sec.id, evidence: [], wrong: [] };
    sec.querySelectorAll('text.label.ev').forEach(function (t) {
      var text = t.textContent, names = t.dataset.names.split(' ').filter(Boolean);
      if (text.indexOf('VIOLATED ' + invariant) >= 0) return;
      s.evidence.push(text);
      var ok = text.indexOf('⚠ ' + invariant) >= 0 && names.length > 0 &&
        names.every(function (n) { return records.indexOf(n) >= 0 && word(text, n); });
      if (!ok) s.wrong.push(text.slice(0, 160));
    });
    r.sections.push(s);
  });
  document.querySelectorAll('svg').forEach(function (svg) {
    var w = svg.width.baseVal.value;
    svg.querySelectorAll('text').forEach(function (t) {
      var b = t.getBBox();
      r.texts++;
      if (b.x < -0.5 || b.x + b.width > w + 0.5) r.overflow.push(t.textContent.slice(0, 100) + ' (' + Math.round(b.x + b.width) + ' > ' + w + ')');
    });
  });
  r.page_overflow = document.documentElement.scrollWidth > window.innerWidth;
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
})();
</script>"#;

fn chromium() -> PathBuf {
    let path = std::env::var_os("TICKETSIM_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(path.is_file(), "headless Chromium not found at {}: run scripts/setup-browser (it installs Debian's chromium)", path.display());
    path
}

/// Chromium, headless, in a 1,400 x 1,000 window, with what this machine's closed
/// network needs switched off.
fn browser(page: &Path, what: &str) -> std::process::Output {
    // A profile of its own per start: tests run in parallel.
    static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let profile = tempdir(&format!("profile-{}", STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"])
        .args([
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(what)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Draws a run's diagram with the real binary; its directory.
fn diagram(name: &str, args: &[&str]) -> PathBuf {
    let dir = tempdir(name);
    let out = Command::new(env!("CARGO_BIN_EXE_ticketsim")).arg("diagram").args(args).arg("--out").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "the run fails: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

/// The probe's findings on a page.
fn probe(html: &str, dir: &Path) -> serde_json::Value {
    let copy = dir.join("probed.html");
    std::fs::write(&copy, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let dom = String::from_utf8(browser(&copy, "--dump-dom").stdout).unwrap();
    let json = dom.split("<pre id=\"probe\">").nth(1).and_then(|s| s.split("</pre>").next()).expect("the probe ran");
    serde_json::from_str(&json.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")).unwrap()
}

/// A screenshot of the page as a reader first sees it, kept as a test artifact.
fn screenshot(dir: &Path, name: &str) -> PathBuf {
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    browser(&dir.join("diagram.html"), &format!("--screenshot={}", png.display()));
    assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 10_000), "a screenshot at {}", png.display());
    png
}

/// What every page must show: each violation listed and reachable, its events its own,
/// nothing overflowing.
fn assert_readable(report: &serde_json::Value, violations: usize) {
    assert_eq!(report["listed"], violations, "every violation is listed: {report}");
    for link in report["links"].as_array().unwrap() {
        assert!(link["found"] == true && link["visible"] == true, "every violation's link leads to a view on screen: {link}");
    }
    let sections = report["sections"].as_array().unwrap();
    assert_eq!(sections.len(), violations, "a view per violation");
    for s in sections {
        assert!(!s["evidence"].as_array().unwrap().is_empty(), "each view highlights what makes its violation: {s}");
        assert!(s["wrong"].as_array().unwrap().is_empty(), "highlighted events are the violation's: {s}");
    }
    assert!(report["texts"].as_u64().unwrap() > 100, "{report}");
    assert!(report["overflow"].as_array().unwrap().is_empty(), "no text runs past its picture: {}", report["overflow"]);
    assert_eq!(report["page_overflow"], false, "the page fits the window");
}

#[test]
fn the_flagship_race_is_the_first_thing_one_sees() {
    let dir = diagram("order-race", &["order-race", "--preset", "as-built", "--seed", "9"]);
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    let report = probe(&html, &dir);
    assert_readable(&report, 1);
    // The two writes that reserved T2 twice, and nothing else, are the evidence.
    let evidence: Vec<&str> = report["sections"][0]["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(evidence.len(), 2, "{evidence:?}");
    assert!(evidence.iter().all(|e| e.contains("orders store create: order O") && e.contains("ticket=T2")), "{evidence:?}");
    screenshot(&dir, "diagram-order-race-9");
}

#[test]
fn every_violation_of_a_long_run_is_listed_and_reachable() {
    let dir = diagram("full-system", &["full-system", "--preset", "as-built", "--seed", "0"]);
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    assert_readable(&probe(&html, &dir), 7);
    screenshot(&dir, "diagram-full-system-0");
}

/// The probe can fail: a label that runs off its picture, and a highlighted event naming
/// another record, are both caught.
#[test]
fn the_probe_catches_an_overflowing_label_and_a_stranger_highlighted() {
    let dir = diagram("planted", &["order-race", "--preset", "as-built", "--seed", "9"]);
    let html = std::fs::read_to_string(dir.join("diagram.html")).unwrap();
    let stranger = r#"<text class="label ev" data-names="T9" x="900" y="40">⚠ no-double-reservation · T9 ◂ a long line that runs far beyond the right edge of the picture it is drawn in, far beyond</text></svg>"#;
    let planted = html.replacen("</svg>", stranger, 2).replacen(stranger, "</svg>", 1);
    let report = probe(&planted, &dir);
    assert!(!report["overflow"].as_array().unwrap().is_empty(), "the overflow is caught: {report}");
    assert!(!report["sections"][0]["wrong"].as_array().unwrap().is_empty(), "the stranger is caught: {report}");
}
