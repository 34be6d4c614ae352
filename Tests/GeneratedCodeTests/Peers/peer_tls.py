# The IceSSL settings of Floe's ZeroC Python test peers: make-certs.sh's folder, mutual TLS.
def ice_ssl_settings(cert_dir, name, check_cert_name=False):
    settings = [
        "--Ice.Plugin.IceSSL=IceSSL:createIceSSL",
        "--IceSSL.DefaultDir=" + cert_dir,
        "--IceSSL.CAs=ca.pem",
        "--IceSSL.CertFile={0}.pem".format(name),
        "--IceSSL.KeyFile={0}.key".format(name),
        "--IceSSL.VerifyPeer=2",
    ]
    if check_cert_name:
        settings.append("--IceSSL.CheckCertName=1")
    return settings
