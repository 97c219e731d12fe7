// The build kind's "new job" form: pick or drop an archive, see its size, upload it with a progress bar
// (XMLHttpRequest: fetch has no upload progress), then open the build's page.
const $ = (id) => document.getElementById(id);
const form = $("build-form");
const input = $("build-file");
const drop = $("build-drop");
let chosen = null;

function size(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function choose(file) {
  chosen = file || null;
  $("build-chosen").textContent = chosen ? `${chosen.name} (${size(chosen.size)})` : "";
  $("build-error").hidden = true;
}

function fail(message) {
  $("build-error").textContent = message;
  $("build-error").hidden = false;
  $("build-start").disabled = false;
  $("build-upload").hidden = true;
}

input.addEventListener("change", () => choose(input.files[0]));
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => {
    event.preventDefault();
    drop.classList.add("dragging");
  });
}
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("dragging");
  if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!chosen) return fail("Choose a .zip or .tar.gz archive of your project first.");
  const site = $("build-site").value.trim();
  const body = new FormData();
  body.append("kind", "build");
  body.append("params", JSON.stringify(site ? { site } : {}));
  body.append("priority", $("build-priority").value);
  body.append("file", chosen, chosen.name);
  const request = new XMLHttpRequest();
  const bar = $("build-upload");
  bar.hidden = false;
  bar.value = 0;
  $("build-start").disabled = true;
  request.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
  });
  request.addEventListener("load", () => {
    let data = null;
    try {
      data = JSON.parse(request.responseText);
    } catch {
      data = null;
    }
    if (request.status === 202 && data && data.id) {
      window.location.assign(`/generations/${data.id}`);
      return;
    }
    const error = (data && data.error) || {};
    fail(error.message || `The upload failed (HTTP ${request.status}).`);
  });
  request.addEventListener("error", () => fail("The upload failed: the server could not be reached."));
  request.open("POST", "/api/jobs");
  request.setRequestHeader("Accept", "application/json");
  request.send(body);
});
