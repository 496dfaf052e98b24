import type { Registration } from '../core/registrations/registration.js';

/** What was registered, as the native API and the public page both show it (API.md §4, §6). */
export function registrationObjectView(registration: Registration) {
  return {
    name: registration.name,
    ...(registration.url != null && { url: registration.url }),
    contentType: registration.contentType,
    size: registration.size,
    sha1: registration.sha1,
    sha256: registration.sha256,
  };
}
