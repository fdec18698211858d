import { describe, expect, it } from "vitest";
import { decodeBase64, readDataUrl } from "../../src/core/data-url.js";
import { thrownGatewayError } from "../support/thrown.js";

const b64 = (bytes: number[] | string) => Buffer.from(typeof bytes === "string" ? bytes : Uint8Array.from(bytes)).toString("base64");

describe("readDataUrl", () => {
  it("reads each payload form as standard, padded base64 with the declared type", () => {
    const bytes = [0xfb, 0xff, 0x00, 0x41, 0x3e];
    expect(readDataUrl(`data:image/png;base64,${b64(bytes)}`, "p")).toEqual({ mimeType: "image/png", base64: b64(bytes) });
    expect(readDataUrl(`data:image/png;base64,${Buffer.from(bytes).toString("base64url")}`, "p")).toEqual({ mimeType: "image/png", base64: b64(bytes) });
    expect(readDataUrl(`data:image/png;base64,${b64(bytes).slice(0, 4)}\n${b64(bytes).slice(4)}`, "p")?.base64).toBe(b64(bytes));
    expect(readDataUrl("data:image/png;base64,QUJD RA", "p")?.base64).toBe(b64("ABCD"));
    expect(readDataUrl("data:image/png;base64,%2B%2F8%3D", "p")?.base64).toBe(b64([0xfb, 0xff]));
    expect(readDataUrl("data:text/plain,hello%20w%C3%B6rld", "p")).toEqual({ mimeType: "text/plain", base64: b64("hello wörld") });
    expect(readDataUrl("data:application/octet-stream,%FF%00é", "p")?.base64).toBe(b64([0xff, 0x00, 0xc3, 0xa9]));
    expect(readDataUrl("DATA:Image/PNG;name=a.png;BASE64,QUJD", "p")).toEqual({ mimeType: "image/png", base64: b64("ABC") });
    expect(readDataUrl("data:,plain", "p")).toEqual({ mimeType: "", base64: b64("plain") });
  });

  it("gives text that declares another charset than UTF-8 as the same text in UTF-8 (providers read UTF-8 and take no charset)", () => {
    expect(readDataUrl("data:text/plain;charset=iso-8859-1;base64,Y2Fm6SBjcuhtZQ==", "p")).toEqual({ mimeType: "text/plain", base64: b64("café crème") });
    expect(readDataUrl(`data:text/plain;charset="UTF-16LE";base64,${Buffer.from("héllo", "utf16le").toString("base64")}`, "p")).toEqual({ mimeType: "text/plain", base64: b64("héllo") });
    expect(readDataUrl("data:text/csv;charset=iso-8859-2,a%B1b", "p")).toEqual({ mimeType: "text/csv", base64: b64("aąb") });
    // Other media keep their bytes, whatever charset they declare (PHP's finfo writes `image/png; charset=binary`).
    expect(readDataUrl("data:image/png; charset=binary;base64,iVBORw0KGgr//gCA", "p")).toEqual({ mimeType: "image/png", base64: "iVBORw0KGgr//gCA" });
    expect(readDataUrl("data:image/png;charset=iso-8859-1;base64,iVBORw0KGgr//gCA", "p")).toEqual({ mimeType: "image/png", base64: "iVBORw0KGgr//gCA" });
    // UTF-8 and ASCII are left byte for byte.
    expect(readDataUrl("data:text/plain;charset=UTF-8;base64,w6k=", "p")).toEqual({ mimeType: "text/plain", base64: "w6k=" });
  });

  it("is undefined for other URLs", () => {
    expect(readDataUrl("https://example.com/data:x", "p")).toBeUndefined();
  });

  it.each([
    ["a bad percent-escape", "data:text/plain,100%", "percent-encoding"],
    ["a truncated UTF-8 escape", "data:image/png,%E0%A4%A", "percent-encoding"],
    ["characters outside base64", "data:image/png;base64,@@@not base64!!", "not valid base64"],
    ["mixed base64 alphabets", "data:image/png;base64,+-_/", "not valid base64"],
    ["a base64 length no bytes can have", "data:image/png;base64,QUJDR", "not valid base64"],
    ["padding alone", "data:image/png;base64,==", "not valid base64"],
    ["no comma", "data:image/png;base64", "no ','"],
    ["an empty base64 payload", "data:image/png;base64,", "carries no data"],
    ["an empty payload", "data:text/plain,", "carries no data"],
    ["a charset nobody knows", "data:text/plain;charset=klingon;base64,YWJj", "charset 'klingon' is not known"],
    ["bytes the charset cannot read", "data:text/plain;charset=utf-16le;base64,YQ==", "not valid utf-16le"],
  ])("refuses %s with a 400 naming the field", (_name, url, words) => {
    const seen = thrownGatewayError(() => readDataUrl(url, "messages[0].content[1]"));
    expect(seen.reason).toBe("INVALID_REQUEST");
    expect(seen.facts.param).toBe("messages[0].content[1]");
    expect(seen.message).toContain(words);
  });
});

describe("decodeBase64", () => {
  it("reads both alphabets and ignores whitespace", () => {
    expect(Buffer.from(decodeBase64("+/8A", "p"))).toEqual(Buffer.from([0xfb, 0xff, 0x00]));
    expect(Buffer.from(decodeBase64("-_8A", "p"))).toEqual(Buffer.from([0xfb, 0xff, 0x00]));
    expect(Buffer.from(decodeBase64(" QU\nJD ", "p")).toString()).toBe("ABC");
  });
});
