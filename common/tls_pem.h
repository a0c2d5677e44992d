// Internal to contentd (not installed): checks of PEM TLS material before
// gRPC gets it. gRPC takes anything, logs a few lines of OpenSSL errors
// when it first connects, and then fails every call as UNAVAILABLE with
// no word of which file is wrong.
#ifndef CONTENT_COMMON_TLS_PEM_H_
#define CONTENT_COMMON_TLS_PEM_H_

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace content::internal {

namespace tls_pem_detail {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

inline Bio MemBio(absl::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
             BIO_free);
}

// The first certificate in `pem` (other PEM blocks before it are skipped).
inline Cert FirstCertificate(absl::string_view pem) {
  Bio bio = MemBio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  ERR_clear_error();  // a failed read leaves errors on this thread's queue
  return cert;
}

}  // namespace tls_pem_detail

// Why `pem` cannot be a certificate (chain) or CA bundle: "" when it holds a
// PEM certificate, else the rule it breaks, to follow the name of the file
// or field ("holds a private key, not a PEM certificate").
inline std::string PemCertificateProblem(absl::string_view pem) {
  if (tls_pem_detail::FirstCertificate(pem) != nullptr) return "";
  if (absl::StrContains(pem, "PRIVATE KEY-----")) {
    return "holds a private key, not a PEM certificate";
  }
  return "holds no PEM certificate";
}

// Why no client will take the first certificate in `pem` now: "" while
// it is within its validity dates (or `pem` holds none), else "expired at
// DATE" or "is not valid until DATE" (DATE as OpenSSL prints it, in GMT).
inline std::string PemCertificateDatesProblem(absl::string_view pem) {
  tls_pem_detail::Cert cert = tls_pem_detail::FirstCertificate(pem);
  if (cert == nullptr) return "";
  auto date = [](const ASN1_TIME* t) {
    tls_pem_detail::Bio out(BIO_new(BIO_s_mem()), BIO_free);
    ASN1_TIME_print(out.get(), t);
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    return std::string(data, size > 0 ? static_cast<size_t>(size) : 0);
  };
  // X509_cmp_current_time: -1 when the time is now or before, 0 on error.
  const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
  if (X509_cmp_current_time(not_after) < 0) {
    return absl::StrCat("expired at ", date(not_after));
  }
  const ASN1_TIME* not_before = X509_get0_notBefore(cert.get());
  if (X509_cmp_current_time(not_before) > 0) {
    return absl::StrCat("is not valid until ", date(not_before));
  }
  return "";
}

// Why `key_pem` cannot be the key of the first certificate in `cert_pem`,
// which errors call `cert_name`: "" when it is.
inline std::string PemKeyProblem(absl::string_view cert_pem,
                                 absl::string_view key_pem,
                                 absl::string_view cert_name) {
  tls_pem_detail::Bio bio = tls_pem_detail::MemBio(key_pem);
  // No passphrase prompt on the terminal: an encrypted key just fails.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return -1; };
  tls_pem_detail::Key key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr),
      EVP_PKEY_free);
  std::string problem;
  if (key == nullptr) {
    problem = "holds no PEM private key (or one with a passphrase)";
  } else {
    tls_pem_detail::Cert cert = tls_pem_detail::FirstCertificate(cert_pem);
    if (cert == nullptr || X509_check_private_key(cert.get(), key.get()) != 1)
      problem =
          absl::StrCat("is not the key of the certificate in ", cert_name);
  }
  ERR_clear_error();
  return problem;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_TLS_PEM_H_
