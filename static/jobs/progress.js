// The progress bar of a background job (an import's check or write, a large export): polls the
// job's JSON status twice a second and reloads the page when the job has finished, so that the
// server shows the preview, the outcome or the download. No inline script (the CSP forbids it).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "1") {
    return;
  }
  var bar = document.getElementById("job-progress");
  var rows = document.getElementById("job-rows");
  var time = document.getElementById("job-time");
  var label = document.getElementById("job-label");
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;

  function show(state) {
    label.textContent = state.label;
    if (state.waiting) {
      bar.removeAttribute("value");
      rows.textContent = zh ? "已确认：等待后台开始写入" : "Confirmed: waiting for the write to start";
    } else if (state.rows_total) {
      bar.max = state.rows_total;
      bar.value = state.rows_done;
      if (state.writing) {
        rows.textContent = zh
          ? "正在写入：已处理 " + state.rows_done + " / " + state.rows_total + " 行，全部写入后一并生效"
          : "Writing: " + state.rows_done + " of " + state.rows_total +
            " rows done; everything takes effect together";
      } else {
        rows.textContent = zh
          ? "已读取并检查 " + state.rows_done + " / " + state.rows_total + " 行"
          : state.rows_done + " of " + state.rows_total + " rows read and checked";
      }
    } else if (state.writing) {
      bar.removeAttribute("value"); // moving, without a share: no write progress here (SQLite)
      rows.textContent = zh
        ? "正在写入：全部写入后一并生效，完成后显示结果"
        : "Writing: everything takes effect together; the result follows when it is done";
    }
    var text = zh ? "已用 " + state.elapsed + " 秒" : state.elapsed + " s elapsed";
    if (state.remaining !== null) {
      text += zh ? "，预计还需 " + state.remaining + " 秒" : ", about " + state.remaining + " s left";
    }
    time.textContent = text;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        show(state);
        if (state.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 500);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }

  window.setTimeout(poll, 250);
})();
