/*
 * fuzz_config.c - libFuzzer target of config_parse() (common/config.c),
 * the reader of every daemon's "key = value" file: memory safety (ASan,
 * UBSan), and a parsed file holds each key once.
 */
#include <stdint.h>
#include <stdlib.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_parse("fuzz.conf", text, &cfg) == 0) {
		for (size_t i = 0; i < cfg->n; i++)
			for (size_t k = 0; k < i; k++)
				if (strcmp(cfg->entries[i].key,
					   cfg->entries[k].key) == 0)
					abort();
		config_free(cfg);
	}
	free(text);
	return 0;
}
