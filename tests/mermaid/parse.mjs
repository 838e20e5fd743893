// Parse each Mermaid file given on the command line with Mermaid's own parser.
// Prints "ok FILE" or "FAIL FILE: message" per file; exits 1 if any failed.
import fs from "node:fs";
import { JSDOM } from "jsdom";

// Mermaid expects a browser; jsdom gives it the DOM its sanitizer needs.
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    await mermaid.parse(fs.readFileSync(file, "utf8"));
    console.log(`ok ${file}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${file}: ${error.message}`);
  }
}
process.exit(failed ? 1 : 0);
