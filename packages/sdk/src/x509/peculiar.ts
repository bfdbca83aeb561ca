/**
 * The parts of `@peculiar/x509` the SDK uses, loaded on first use (see `../lazy-require.ts`): loading it
 * (with reflect-metadata, tsyringe, the ASN.1 schemas) cost ~110 ms and several MiB at every start
 * of the CLI and the agent. SDK modules import this file as `import * as x509 from './peculiar.js'`;
 * each name is both the class (value) and its instance type, as with the package itself.
 */
import type * as X from '@peculiar/x509';
import { lazyExport } from '../lazy-require.js';

// @peculiar/x509 needs the Reflect metadata API (tsyringe) before it loads
const lazy = <T extends object>(name: string) => lazyExport<T>('@peculiar/x509', name, ['reflect-metadata']);

export type X509Certificate = X.X509Certificate;
export const X509Certificate = lazy<typeof X.X509Certificate>('X509Certificate');
export type X509CertificateGenerator = X.X509CertificateGenerator;
export const X509CertificateGenerator = lazy<typeof X.X509CertificateGenerator>('X509CertificateGenerator');
export type X509Crl = X.X509Crl;
export const X509Crl = lazy<typeof X.X509Crl>('X509Crl');
export type X509CrlGenerator = X.X509CrlGenerator;
export const X509CrlGenerator = lazy<typeof X.X509CrlGenerator>('X509CrlGenerator');
export type Pkcs10CertificateRequest = X.Pkcs10CertificateRequest;
export const Pkcs10CertificateRequest = lazy<typeof X.Pkcs10CertificateRequest>('Pkcs10CertificateRequest');
export type Pkcs10CertificateRequestGenerator = X.Pkcs10CertificateRequestGenerator;
export const Pkcs10CertificateRequestGenerator = lazy<typeof X.Pkcs10CertificateRequestGenerator>('Pkcs10CertificateRequestGenerator');
export type SubjectAlternativeNameExtension = X.SubjectAlternativeNameExtension;
export const SubjectAlternativeNameExtension = lazy<typeof X.SubjectAlternativeNameExtension>('SubjectAlternativeNameExtension');
export type ExtendedKeyUsageExtension = X.ExtendedKeyUsageExtension;
export const ExtendedKeyUsageExtension = lazy<typeof X.ExtendedKeyUsageExtension>('ExtendedKeyUsageExtension');
export type BasicConstraintsExtension = X.BasicConstraintsExtension;
export const BasicConstraintsExtension = lazy<typeof X.BasicConstraintsExtension>('BasicConstraintsExtension');
export type JsonGeneralName = X.JsonGeneralName;
