// The mapping editor: where the caret is in the YAML (line and column, as
// the problems name them), and a problem's link moves the caret to its
// place. Everything else is htmx attributes.
(function () {
  "use strict";
  function position(text, offset) {
    var before = text.slice(0, offset), line = before.split("\n").length;
    return { line: line, column: offset - before.lastIndexOf("\n") };
  }
  function offsetOf(text, line, column) {
    var lines = text.split("\n"), off = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) off += lines[i].length + 1;
    var len = lines[Math.min(line, lines.length) - 1].length;
    return off + Math.min(Math.max(column, 1) - 1, len);
  }
  function caret() {
    var ta = document.getElementById("yaml"), out = document.getElementById("caret");
    if (!ta || !out) return;
    var p = position(ta.value, ta.selectionStart);
    out.textContent = "line " + p.line + ", column " + p.column;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var ta = document.getElementById("yaml");
    if (!ta) return;
    ["input", "keyup", "click", "select", "focus"].forEach(function (e) { ta.addEventListener(e, caret); });
    caret();
    document.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a.at");
      if (!a) return;
      e.preventDefault();
      var line = parseInt(a.dataset.line, 10) || 1, column = parseInt(a.dataset.column, 10) || 1;
      var off = offsetOf(ta.value, line, column);
      ta.focus();
      ta.setSelectionRange(off, off);
      // Scroll the line into view: the textarea's lines are of one height.
      var lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
      ta.scrollTop = Math.max(0, (line - 3) * lh);
      caret();
    });
  });
})();
