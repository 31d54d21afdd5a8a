/* sha256_test.c: sha256_parts is SHA-256: the FIPS 180-2 vectors, and libsodium's digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "sha256.h"
#include "test_main.h"

static void hex(const uint8_t digest[SHA256_SIZE], char out[2 * SHA256_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SHA256_SIZE; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 0xf];
    }
    out[2 * SHA256_SIZE] = '\0';
}

static void test_known_vectors(void **state)
{
    (void)state;
    uint8_t digest[SHA256_SIZE];
    char text[2 * SHA256_SIZE + 1];
    sha256_part_t abc = {"abc", 3};
    assert_int_equal(sha256_parts(&abc, 1, digest), LEDGER_OK);
    hex(digest, text);
    assert_string_equal(text, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(sha256_parts(NULL, 0, digest), LEDGER_OK); /* the empty message */
    hex(digest, text);
    assert_string_equal(text, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* the two-block vector, cut into three parts */
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_part_t parts[] = {{msg, 5}, {msg + 5, 0}, {msg + 5, strlen(msg) - 5}};
    assert_int_equal(sha256_parts(parts, 3, digest), LEDGER_OK);
    hex(digest, text);
    assert_string_equal(text, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Every length up to a few blocks, split at every point: the digest libsodium computes. */
static void test_same_digest_as_libsodium(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    for (size_t size = 0; size <= sizeof data; size++) {
        uint8_t want[SHA256_SIZE];
        crypto_hash_sha256(want, data, size);
        for (size_t cut = 0; cut <= size; cut += 1 + size / 8) {
            sha256_part_t parts[] = {{data, cut}, {data + cut, size - cut}};
            uint8_t got[SHA256_SIZE];
            assert_int_equal(sha256_parts(parts, 2, got), LEDGER_OK);
            assert_memory_equal(got, want, SHA256_SIZE);
        }
    }
}

TEST_MAIN(cmocka_unit_test(test_known_vectors), cmocka_unit_test(test_same_digest_as_libsodium))
