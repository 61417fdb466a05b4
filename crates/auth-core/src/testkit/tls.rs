//! Certificates for a TLS `redis-server` in tests (feature `testkit-tls`): a CA of the test's
//! own and a loopback server certificate it signed, written as PEM files.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::TlsFiles;

/// A fresh CA, and a certificate for `127.0.0.1` and `localhost` signed by it, written into
/// `folder` (`ca.pem`, `server.pem`, `server.key`).
///
/// # Panics
/// When the files cannot be written (this is for tests).
pub fn make_tls_files(folder: &Path) -> TlsFiles {
    let (ca_pem, issuer) = make_ca("propusk test CA");
    let server_key = KeyPair::generate().expect("a server key");
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server certificate parameters");
    params
        .distinguished_name
        .push(DnType::CommonName, "propusk test redis");
    let server = params
        .signed_by(&server_key, &issuer)
        .expect("a signed server certificate");
    let files = TlsFiles {
        cert: folder.join("server.pem"),
        key: folder.join("server.key"),
        ca: folder.join("ca.pem"),
    };
    std::fs::write(&files.ca, ca_pem).expect("write ca.pem");
    std::fs::write(&files.cert, server.pem()).expect("write server.pem");
    std::fs::write(&files.key, server_key.serialize_pem()).expect("write server.key");
    files
}

/// A PEM certificate of another CA, which signed nothing: a wrong CA to trust.
pub fn unrelated_ca_pem() -> String {
    make_ca("propusk unrelated CA").0
}

fn make_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let certificate = params.self_signed(&key).expect("a self-signed CA");
    (certificate.pem(), Issuer::new(params, key))
}
