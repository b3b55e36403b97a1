#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/err.h"
#include "common/util.h"
#include "controller/peercert.h"

static void refused(struct peercert *out, const char *why)
{
	out->state = PEERCERT_INVALID;
	str_copy(out->why, sizeof(out->why), why);
}

/* The reason gnutls gives for a verification status, without its
 * trailing full stop. */
static void status_why(unsigned status, struct peercert *out)
{
	gnutls_datum_t txt = {NULL, 0};
	char why[sizeof(out->why)];
	size_t len;

	if (gnutls_certificate_verification_status_print(
		    status, GNUTLS_CRT_X509, &txt, 0) < 0 || txt.data == NULL) {
		refused(out, "the client certificate does not verify");
		return;
	}
	snprintf(why, sizeof(why), "the client certificate is refused: %s",
		 (const char *)txt.data);
	gnutls_free(txt.data);
	len = strlen(why);
	while (len > 0 && (why[len - 1] == '.' || why[len - 1] == ' '))
		why[--len] = '\0';
	refused(out, why);
}

void peercert_read(void *session, struct peercert *out)
{
	gnutls_session_t s = session;
	/* a certificate for TLS clients: a node's server certificate alone
	 * does not make an agent */
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (void *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt = NULL;
	unsigned n = 0, status = 0;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	chain = gnutls_certificate_get_peers(s, &n);
	if (chain == NULL || n == 0)
		return;
	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0) {
		refused(out, "the client certificate could not be verified");
		return;
	}
	if (status != 0) {
		status_why(status, out);
		return;
	}
	len = sizeof(out->cn);
	if (gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
					  0, out->cn, &len) < 0 ||
	    out->cn[0] == '\0') {
		out->cn[0] = '\0';
		refused(out, "the client certificate has no usable common name "
			"(CN): issue one with 'fincloud-ca.sh issue NODE'");
		goto out;
	}
	out->state = PEERCERT_VALID;
out:
	gnutls_x509_crt_deinit(crt);
}

int peercert_check(const struct peercert *p, bool required, const char *node)
{
	if (!required)
		return 0;
	if (p == NULL || p->state == PEERCERT_NONE)
		return err_set("node '%s': no client certificate: an agent "
			       "needs one of the installation's CA with CN "
			       "'%s' (fincloud-ca.sh issue %s; the agent's "
			       "cert_file and key_file) and must reach the "
			       "agents' port over https", node, node, node);
	if (p->state == PEERCERT_INVALID)
		return err_set("node '%s': %s", node, p->why);
	if (strcmp(p->cn, node) != 0)
		return err_set("node '%s': the client certificate names node "
			       "'%s': a node acts only for itself", node,
			       p->cn);
	return 0;
}
