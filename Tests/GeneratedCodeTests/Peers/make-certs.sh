#!/bin/sh
# Test certificates, made fresh with the openssl command in the folder given (TLS tests):
#   ca.pem/.key            "Floe Test CA"
#   server.pem/.key        C=US, O=Floe Tests, CN=server   (IP:127.0.0.1, DNS:localhost)
#   server2.pem/.key       C=US, O=Floe Tests, CN=server2  (the same names; for reloading)
#   client.pem/.key        C=US, O=Floe Tests, CN=client
#   client-encrypted.key   client.key encrypted with the password "secret"
#   server.p12             server's certificate and key, PKCS#12, password "secret"
#   wronghost.pem/.key     CN=wronghost                    (DNS:wrong.example.com only)
#   expired.pem/.key       CN=expired, valid in January 2020 only
#   other-ca.pem/.key      "Other CA", and intruder.pem/.key (CN=intruder) signed by it
#   intermediate.pem/.key  "Floe Intermediate CA", signed by ca
#   chained.pem/.key       CN=chained (IP:127.0.0.1, DNS:localhost), signed by intermediate; the
#                          .pem holds it and then intermediate's: a chain of three with the root
#   long.pem               chained.pem with intermediate.pem 5 times more: 7 certificates
#   server-only.pem/.key   CN=server-only, extended key usage serverAuth only
set -eu
dir=$1
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1.key" 2>/dev/null; }
ca() {
    key "$1"
    openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
# cert NAME SUBJECT SAN CA [MORE-EXTENSIONS]
cert() {
    key "$1"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "$2"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n%s\n' "$3" "${5:-}" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -out "$1.pem" -days 30 \
        -extfile "$1.ext" 2>/dev/null
}
ca ca "Floe Test CA"
ca other-ca "Other CA"
cert server "/C=US/O=Floe Tests/CN=server" "IP:127.0.0.1,DNS:localhost" ca
cert server2 "/C=US/O=Floe Tests/CN=server2" "IP:127.0.0.1,DNS:localhost" ca
cert client "/C=US/O=Floe Tests/CN=client" "DNS:client.example.com" ca
cert wronghost "/C=US/O=Floe Tests/CN=wronghost" "DNS:wrong.example.com" ca
cert intruder "/C=US/O=Floe Tests/CN=intruder" "IP:127.0.0.1,DNS:localhost" other-ca
key intermediate
openssl req -new -key intermediate.key -out intermediate.csr -subj "/CN=Floe Intermediate CA"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > intermediate.ext
openssl x509 -req -in intermediate.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out intermediate.pem -days 30 \
    -extfile intermediate.ext 2>/dev/null
cert chained "/C=US/O=Floe Tests/CN=chained" "IP:127.0.0.1,DNS:localhost" intermediate
cat intermediate.pem >> chained.pem
# long.pem: chained's chain padded to 7 certificates (a peer presenting too many; key chained.key)
cat chained.pem intermediate.pem intermediate.pem intermediate.pem intermediate.pem intermediate.pem > long.pem
cert server-only "/C=US/O=Floe Tests/CN=server-only" "IP:127.0.0.1,DNS:localhost" ca "extendedKeyUsage=serverAuth"
openssl pkey -in client.key -aes256 -passout pass:secret -out client-encrypted.key
openssl pkcs12 -export -in server.pem -inkey server.key -out server.p12 -passout pass:secret \
    -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1
# An expired certificate: `openssl x509 -req` cannot back-date, `openssl ca` can.
key expired
openssl req -new -key expired.key -out expired.csr -subj "/C=US/O=Floe Tests/CN=expired"
: > index.txt
echo 01 > serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = test
[ test ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
copy_extensions = copy
x509_extensions = leaf
[ anything ]
commonName = supplied
[ leaf ]
subjectAltName = IP:127.0.0.1,DNS:localhost
basicConstraints = CA:FALSE
CNF
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem -notext \
    -startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null
