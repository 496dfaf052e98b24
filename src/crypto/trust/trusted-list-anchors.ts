import type { TrustAnchorEntry, TrustPurpose } from '../verify/certificate-trust.js';
import type { TrustedList } from './trusted-list.js';

/*
 * What a trusted list's services are trusted for (ETSI TS 119 612 §5.5; EU DSS's defaults): a
 * qualified CA (CA/QC) anchors signatures, a time-stamping service (TSA, TSA/QTST, …) anchors
 * time-stamps — while the service's current status is granted, or, for lists older than eIDAS, one of
 * the statuses of the 1999 directive that meant the same (under supervision, accredited, supervision in
 * cessation). Withdrawn or recognised-at-national-level services anchor nothing. The service history
 * (a status that changed over time) is not followed: the current status decides for every date.
 */

const SIGNATURE_SERVICES = new Set(['http://uri.etsi.org/TrstSvc/Svctype/CA/QC']);
const TIMESTAMP_SERVICES = new Set([
  'http://uri.etsi.org/TrstSvc/Svctype/TSA',
  'http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST',
  'http://uri.etsi.org/TrstSvc/Svctype/TSA/TSS-QC',
  'http://uri.etsi.org/TrstSvc/Svctype/TSA/TSS-AdESQCandQES',
]);
const TRUSTED_STATUSES = new Set(
  ['granted', 'undersupervision', 'accredited', 'supervisionincessation'].map((status) => `http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/${status}`),
);

export function anchorsOfList(list: TrustedList, source: string): TrustAnchorEntry[] {
  return list.services.flatMap((service) => {
    if (!TRUSTED_STATUSES.has(service.status)) return [];
    const purposes: TrustPurpose[] = SIGNATURE_SERVICES.has(service.type) ? ['signature'] : TIMESTAMP_SERVICES.has(service.type) ? ['timestamp'] : [];
    if (purposes.length === 0) return [];
    const origin = { list: source, territory: list.territory, provider: service.provider, service: service.name, type: service.type, status: service.status };
    return service.certificates.map((der) => ({ der, purposes, origin }));
  });
}
