// Signature pads on the inspection record: each <div class="sig-pad"> holds a canvas drawn on
// with a finger, pen or mouse (pointer events) and a hidden input that receives the drawing as
// a PNG data URL when a stroke ends. An untouched pad sends "", which the server refuses.
(function () {
  "use strict";
  function setUp(pad) {
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("input[type=hidden]");
    var ctx = canvas.getContext("2d");
    var drawing = false, inked = false, last = null;

    function fit() {
      // Pixels follow the box on screen (times the pixel ratio, at most 2) while the pad is
      // blank. Once signed, a resize (keyboard, address bar, rotation, a screenshot) never
      // clears it: the pixels stay and strokes are mapped through the box's current size.
      if (inked) return;
      var ratio = Math.min(window.devicePixelRatio || 1, 2);
      var box = canvas.getBoundingClientRect();
      var w = Math.max(1, Math.round(box.width * ratio));
      var h = Math.max(1, Math.round(box.height * ratio));
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
    }
    function pen() {
      var box = canvas.getBoundingClientRect();
      var scale = box.width ? canvas.width / box.width : 1;
      ctx.lineWidth = 2.5 * scale;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = ctx.fillStyle = "#111";
    }
    function clear() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      inked = false;
      input.value = "";
      pad.classList.remove("signed");
      fit();
    }
    function at(ev) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (ev.clientX - box.left) * (canvas.width / (box.width || 1)),
        y: (ev.clientY - box.top) * (canvas.height / (box.height || 1)),
      };
    }
    canvas.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      canvas.setPointerCapture(ev.pointerId);
      drawing = true;
      pen();
      last = at(ev);
      ctx.beginPath();
      ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
    });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drawing) return;
      ev.preventDefault();
      var p = at(ev);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      inked = true;
    });
    function end() {
      if (!drawing) return;
      drawing = false;
      if (inked) {
        input.value = canvas.toDataURL("image/png");
        pad.classList.add("signed");
      }
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    pad.querySelector(".sig-clear").addEventListener("click", clear);
    fit();
    window.addEventListener("resize", fit);
  }
  document.querySelectorAll(".sig-pad").forEach(setUp);
})();
