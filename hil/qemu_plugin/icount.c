/* QEMU TCG plugin: exact count of guest instructions executed between two marker
 * addresses (ecqx_marker_begin / ecqx_marker_end in the firmware). One line per completed
 * begin..end interval is appended to the file named by out=PATH.
 * With profile=PATH it also counts, per instruction address, the executions inside the
 * intervals and writes "address count" lines to PATH at exit (hil/profile.py maps them to
 * functions). Profiling uses a callback per instruction, so it is slower than plain counting.
 *
 * Debian ships QEMU without qemu-plugin.h, so the few API v1 declarations used here are
 * written out (they are stable across QEMU 7.x/8.x). Build: gcc -shared -fPIC -O2. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
                                    void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t executed; /* single vCPU: a plain counter is exact */
static uint64_t begin_at;
static int inside;
static uint64_t addr_begin, addr_end;
static FILE *out;

/* Open-addressing table: firmware code is far smaller than this many instructions. */
#define PROFILE_SLOTS (1u << 20)
static uint64_t *prof_pc, *prof_n;
static char *profile_path;

static void on_begin(unsigned int vcpu, void *u)
{
    (void)vcpu;
    (void)u;
    begin_at = executed;
    inside = 1;
}

static void on_end(unsigned int vcpu, void *u)
{
    (void)vcpu;
    (void)u;
    if (inside && out) {
        fprintf(out, "%" PRIu64 "\n", executed - begin_at);
        fflush(out);
    }
    inside = 0;
}

static void on_insn_profiled(unsigned int vcpu, void *u)
{
    (void)vcpu;
    if (!inside) {
        return;
    }
    const uint64_t pc = (uint64_t)(uintptr_t)u;
    uint32_t h = (uint32_t)(pc >> 1) & (PROFILE_SLOTS - 1u);
    while (prof_n[h] != 0 && prof_pc[h] != pc) {
        h = (h + 1u) & (PROFILE_SLOTS - 1u);
    }
    prof_pc[h] = pc;
    prof_n[h]++;
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    const size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const uint64_t pc = qemu_plugin_insn_vaddr(insn);
        /* The marker callbacks run before the marker instruction is counted, so the
         * interval is [first insn of begin, first insn of end). */
        if (pc == addr_begin) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
        } else if (pc == addr_end) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        if (prof_n) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn_profiled, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)(uintptr_t)pc);
        }
    }
}

static void on_exit_cb(qemu_plugin_id_t id, void *u)
{
    (void)id;
    (void)u;
    if (out) {
        fclose(out);
        out = NULL;
    }
    if (prof_n) {
        FILE *f = fopen(profile_path, "w");
        for (uint32_t h = 0; f && h < PROFILE_SLOTS; h++) {
            if (prof_n[h]) {
                fprintf(f, "%#" PRIx64 " %" PRIu64 "\n", prof_pc[h], prof_n[h]);
            }
        }
        if (f) {
            fclose(f);
        }
    }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "begin=", 6) == 0) {
            addr_begin = strtoull(argv[i] + 6, NULL, 0) & ~1ull; /* drop the Thumb bit */
        } else if (strncmp(argv[i], "end=", 4) == 0) {
            addr_end = strtoull(argv[i] + 4, NULL, 0) & ~1ull;
        } else if (strncmp(argv[i], "out=", 4) == 0) {
            out = fopen(argv[i] + 4, "w");
        } else if (strncmp(argv[i], "profile=", 8) == 0) {
            profile_path = strdup(argv[i] + 8); /* argv need not outlive install */
        }
    }
    if (!addr_begin || !addr_end || !out) {
        fprintf(stderr, "icount plugin: needs begin=ADDR,end=ADDR,out=PATH\n");
        return -1;
    }
    if (profile_path) {
        prof_pc = calloc(PROFILE_SLOTS, sizeof *prof_pc);
        prof_n = calloc(PROFILE_SLOTS, sizeof *prof_n);
        if (!prof_pc || !prof_n) {
            fprintf(stderr, "icount plugin: no memory for the profile table\n");
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
