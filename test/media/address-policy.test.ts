import { describe, expect, it } from "vitest";
import { isPublicAddress, nonPublicAddressKind } from "../../src/media/address-policy.js";

describe("nonPublicAddressKind", () => {
  it.each<[string, RegExp]>([
    ["127.0.0.1", /^loopback/],
    ["127.255.255.254", /^loopback/],
    ["10.0.0.1", /^private \(10/],
    ["10.255.255.255", /^private \(10/],
    ["172.16.0.1", /^private \(172\.16/],
    ["172.31.255.255", /^private \(172\.16/],
    ["192.168.1.1", /^private \(192\.168/],
    ["100.64.0.1", /^carrier-grade NAT/],
    ["100.127.255.255", /^carrier-grade NAT/],
    ["169.254.169.254", /^link-local/],
    ["169.254.0.1", /^link-local/],
    ["0.0.0.0", /^unspecified/],
    ["0.1.2.3", /^unspecified/],
    ["224.0.0.1", /^multicast/],
    ["255.255.255.255", /^reserved/],
    ["192.0.2.10", /^documentation/],
    ["198.18.0.1", /^benchmarking/],
    ["::1", /^loopback/],
    ["::", /^unspecified/],
    ["fc00::1", /^unique local/],
    ["fd12:3456:789a::1", /^unique local/],
    ["fe80::1", /^link-local/],
    ["fe80::1%eth0", /^link-local/],
    ["febf::1", /^link-local/],
    ["ff02::1", /^multicast/],
    ["fec0::1", /^site-local/],
    ["::ffff:127.0.0.1", /^IPv4-mapped loopback/],
    ["::ffff:7f00:1", /^IPv4-mapped loopback/],
    ["::ffff:169.254.169.254", /^IPv4-mapped link-local/],
    ["::ffff:10.1.2.3", /^IPv4-mapped private/],
    ["::ffff:0:0", /^IPv4-mapped unspecified/],
    ["::127.0.0.1", /^IPv4-compatible/],
    ["64:ff9b::a00:1", /^NAT64 private/],
    ["2002:a9fe:a9fe::1", /^6to4 link-local/],
    ["2001:db8::1", /^documentation/],
    ["2001::1", /^Teredo/],
    ["[::1]", /^loopback/],
    ["localhost", /^not an IP address/],
    ["1.2.3", /^not an IP address/],
    ["", /^not an IP address/],
  ])("refuses %s", (address, kind) => {
    expect(nonPublicAddressKind(address)).toMatch(kind);
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "172.15.255.255",
    "172.32.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "169.253.255.255",
    "192.169.0.1",
    "11.0.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:4860:4860::8888",
  ])("allows public %s", (address) => {
    expect(nonPublicAddressKind(address)).toBeUndefined();
    expect(isPublicAddress(address)).toBe(true);
  });
});
