// The full-text peer of the llms_crawl benchmark: fetch every URL of a list at a fixed concurrency and
// convert each page to Markdown with mdream (https://github.com/harlan-zw/mdream), then write all of it
// to one file, as a plain Node script would.
// Usage: node mdream_peer.mjs URLS_FILE OUT_FILE CONCURRENCY  -> prints {"pages", "errors", "seconds", "bytes"}
import { readFileSync, writeFileSync } from "node:fs";
import { htmlToMarkdown } from "mdream";

const [urlsFile, outFile, concurrencyArg] = process.argv.slice(2);
const urls = readFileSync(urlsFile, "utf8").split("\n").filter(Boolean);
const concurrency = Number(concurrencyArg || 8);
const parts = new Array(urls.length);
let next = 0, errors = 0, bytes = 0;

async function work() {
  while (next < urls.length) {
    const i = next++;
    try {
      const response = await fetch(urls[i]);
      const html = await response.text();
      bytes += html.length;
      if (!response.ok) { errors++; continue; }
      parts[i] = `## ${urls[i]}\n\n` + htmlToMarkdown(html, { origin: new URL(urls[i]).origin });
    } catch (e) {
      errors++;
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, work));
writeFileSync(outFile, parts.filter(Boolean).join("\n\n---\n\n"));
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ pages: urls.length, errors, seconds, bytes }));
