import { randomBytes, webcrypto } from 'node:crypto';
// @peculiar/x509's dependency injection (tsyringe) needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

/**
 * A small X.509 CA for MQTT over TLS (RFC 5280 profiles, ECDSA P-256 / SHA-256): the embedded
 * broker's CA made at first start, and the CA, broker and client certificates the peer tests give
 * mosquitto. Keys come from node:crypto's WebCrypto; @peculiar/x509 builds the certificates.
 * Client certificates carry the hub id as CN: mosquitto's `use_identity_as_username` makes that
 * the username its ACL file matches.
 */
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const ALG: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
// @peculiar/x509 is typed against the DOM's Crypto; node:crypto's webcrypto is that API.
type X509Crypto = Parameters<typeof x509.X509CertificateGenerator.create>[1];
const subtle = webcrypto.subtle;
const crypto = webcrypto as unknown as X509Crypto;

export interface PemPair {
  cert: string;
  key: string;
}

export interface CertificateAuthority extends PemPair {
  /** Issues a certificate signed by this CA. */
  issue(options: IssueOptions): Promise<PemPair>;
}

export interface IssueOptions {
  commonName: string;
  usage: 'server' | 'client';
  /** Server certificates: names and addresses the certificate is valid for (RFC 6125). */
  dnsNames?: string[];
  ips?: string[];
  nowMs: number;
  validDays?: number;
}

export async function createCertificateAuthority(options: { commonName: string; nowMs: number; validDays?: number }): Promise<CertificateAuthority> {
  const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `CN=${escapeRdn(options.commonName)}`,
      ...validity(options.nowMs, options.validDays ?? 3650),
      keys,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return caFrom(ca, keys.privateKey, await keyPem(keys.privateKey));
}

/** Restores a CA from its PEM files (the embedded broker's, kept in the state dir). */
export async function loadCertificateAuthority(pair: PemPair): Promise<CertificateAuthority> {
  const ca = new x509.X509Certificate(pair.cert);
  const der = x509.PemConverter.decodeFirst(pair.key);
  const key = await subtle.importKey('pkcs8', der, ALG, true, ['sign']);
  return caFrom(ca, key, pair.key);
}

function caFrom(ca: x509.X509Certificate, caKey: CryptoKey, caKeyPem: string): CertificateAuthority {
  return {
    cert: ca.toString('pem'),
    key: caKeyPem,
    async issue(o) {
      const keys = (await subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      const names: x509.JsonGeneralName[] = [...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), ...(o.ips ?? []).map((value) => ({ type: 'ip' as const, value }))];
      const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([o.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth], false),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ];
      if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: serial(),
          subject: `CN=${escapeRdn(o.commonName)}`,
          issuer: ca.subject,
          ...validity(o.nowMs, o.validDays ?? 825),
          publicKey: keys.publicKey,
          signingKey: caKey,
          signingAlgorithm: SIGNING,
          extensions,
        },
        crypto,
      );
      return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
    },
  };
}

function validity(nowMs: number, days: number): { notBefore: Date; notAfter: Date } {
  // Backdated an hour so a peer whose clock is slightly behind still accepts it.
  return { notBefore: new Date(nowMs - 3600_000), notAfter: new Date(nowMs + days * 86_400_000) };
}

function serial(): string {
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random bytes with the top bit cleared.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f;
  return bytes.toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function escapeRdn(value: string): string {
  if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(value)) throw new RangeError(`certificate name ${JSON.stringify(value)} has characters this CA does not issue`);
  return value;
}
