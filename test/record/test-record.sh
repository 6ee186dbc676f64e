#!/bin/bash
# test-record.sh - end-to-end test of `invtrace record` (npm run test:record; not part of npm test:
# it downloads a Debian guest kernel). Boots a real guest under QEMU (TCG) for each vIOMMU, with a
# small O_DIRECT workload on a virtio-blk disk behind the vIOMMU, records it with `invtrace record`
# (QEMU side + the guest's console dump, set up with `invtrace record --guest-cmdline`), and checks
# that the trace holds the invalidation commands the Linux driver sends, that they decode, and that
# they replay when `invtrace replay` exists.
#
# Reuses samples/captures/capture.sh for the guest: `fetch` (apt-get download + dpkg -x of the
# Debian kernel and busybox-static) and `build_initrd` (busybox, modules with their dependencies,
# an /init running the captures' dd workload), with the trace dump of that /init replaced by the
# lines `record --guest-cmdline` prints. A last run sends SIGTERM to record in the middle.
#
# Host: Debian 12, root (or sudo), apt access to Debian's repositories. Installs what is absent.
# Env:  ARCHES    which vIOMMUs to test          (default: "vtd smmuv3")
#       SCRATCH   downloads, initramfs, disks     (default: /tmp/invtrace-record-scratch, ~300 MB)
#       KVER_X86 / KVER_ARM64  Debian kernel ABI names (default: what linux-image-amd64/-arm64 depend on)
#       TIMEOUT   seconds per guest run           (default: 900)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CAPTURE=$ROOT/samples/captures/capture.sh
SCRATCH=${SCRATCH:-/tmp/invtrace-record-scratch}
OUT=$SCRATCH/out
ARCHES=${ARCHES:-vtd smmuv3}
TIMEOUT=${TIMEOUT:-900}
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$SCRATCH" "$OUT"

log() { echo "[test-record $(date +%T)] $*" >&2; }
fail() { echo "[test-record] FAIL: $*" >&2; exit 1; }
invtrace() { node "$ROOT/dist/bin/invtrace.js" "$@"; }
capture() { SCRATCH=$SCRATCH OUT=$OUT bash "$CAPTURE" "$@"; }
has_command() { invtrace --help | grep -E "^  $1 " > /dev/null; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# json FIELD: one field of the JSON object on stdin (strings raw, the rest as JSON)
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];process.stdout.write(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }

# ------------------------------------------------------------------ host packages (when absent)
ensure_packages() {
    local want=(kmod cpio gzip xz-utils zstd) missing=() p updated=
    for a in $ARCHES; do
        case $a in
            vtd)    want+=(qemu-system-x86 seabios ipxe-qemu) ;;
            smmuv3) want+=(qemu-system-arm) ;;
            *)      fail "unknown arch $a (ARCHES takes vtd and smmuv3)" ;;
        esac
    done
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    # Guest packages of another architecture are downloaded, never installed: apt must know them.
    if [[ " $ARCHES " == *" smmuv3 "* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        log "adding the arm64 architecture (to apt-get download the arm64 kernel and busybox)"
        as_root dpkg --add-architecture arm64
        as_root apt-get update -q; updated=1
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        [ -n "$updated" ] || as_root apt-get update -q
        as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

# ------------------------------------------------------------------ guest
# prepare_guest DEBARCH KVER ARCH -> $SCRATCH/DEBARCH-KVER/initrd-record.gz and a fresh disk0.img.
# capture.sh builds the initramfs and its /init (drivers, the O_DIRECT dd workload on the disks named
# by wl_disks= on the kernel command line, then the trace dump); the dump part of that /init, from
# stopping tracing to the end marker, is replaced by the lines `invtrace record --guest-cmdline`
# prints, so the test checks that those lines work.
prepare_guest() {
    local debarch=$1 kver=$2 arch=$3 d=$SCRATCH/$1-$2
    capture fetch "$debarch" "$kver"
    capture build_initrd "$debarch" "$kver" "virtio_pci virtio_blk"
    invtrace record --guest-cmdline "$arch" ${kver:+--kernel-version "$kver"} --json | json dump_script > "$d/dump.sh"
    awk -v dump="$d/dump.sh" '
        /^echo 0 > \$T\/tracing_on/ { skip = 1; print "echo \"@@ workload uptime $t0 -> $t1\""
                                      while ((getline l < dump) > 0) print l; next }
        skip && /^echo "@@@@ END GUEST TRACE"/ { skip = 0; replaced++; next }
        !skip { print }
        END { if (replaced != 1) exit 1 }' "$d/initrd/init" > "$d/init-record" ||
        fail "capture.sh's guest /init changed: cannot find its trace dump to replace"
    install -m 755 "$d/init-record" "$d/initrd/init"
    (cd "$d/initrd" && find . | cpio -o -H newc --quiet | gzip -1) > "$d/initrd-record.gz"
    rm -f "$d/disk0.img" && truncate -s 64M "$d/disk0.img"
}

# ------------------------------------------------------------------ checks
# check_trace NAME ARCH "OP..." : ops that must be present, decoding and replay
check_trace() {
    local name=$1 arch=$2 ops=$3 trace=$OUT/$1.arrow info op n
    [ -s "$trace" ] || fail "$name: no trace $trace"
    info=$(invtrace info --json "$trace")
    log "$name: commands per type: $(json by_op <<<"$info")"
    log "$name: by origin: $(json by_origin <<<"$info"); sources: $(json sources <<<"$info")"
    for op in $ops; do
        n=$(node -e 'const i=JSON.parse(process.argv[1]);process.stdout.write(String(i.by_op[process.argv[2]]??0))' "$info" "$op")
        [ "$n" -gt 0 ] || fail "$name: no $op in the trace"
    done
    [ "$(json errors <<<"$info")" = "{}" ] || fail "$name: commands the hardware would refuse: $(json errors <<<"$info")"
    [ "$(json sources <<<"$info" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')" -ge "${4:-1}" ] ||
        fail "$name: expected ${4:-1} source files, got $(json sources <<<"$info")"
    # Decode the first command of each type again from its raw words, through the CLI.
    invtrace export "$trace" -o "$OUT/$name.jsonl"
    node - "$OUT/$name.jsonl" "$arch" "$ROOT/dist/bin/invtrace.js" <<'EOF'
const fs = require('fs'), { execFileSync } = require('child_process');
const [file, arch, main] = process.argv.slice(2);
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
const header = JSON.parse(lines[0]);
const seen = new Map();
const kind = (w0) => (arch === 'vtd' ? BigInt(w0) & 0xfn : BigInt(w0) & 0xffn); // type / opcode bits
for (const l of lines.slice(1)) {
  const e = JSON.parse(l);
  if (!Array.isArray(e.cmd) || seen.has(kind(e.cmd[0]))) continue;
  const d = JSON.parse(execFileSync(process.execPath, [main, 'decode', '--arch', arch, '--json',
    ...(arch === 'vtd' ? ['--desc-bytes', String(header.desc_bytes)] : []), ...e.cmd], { encoding: 'utf8' }));
  seen.set(kind(e.cmd[0]), d.op);
  if (d.valid !== true) { console.error(`decode ${e.cmd.join(' ')}: ${JSON.stringify(d)}`); process.exit(1); }
}
console.error(`[test-record] decoded again without errors: ${[...seen.values()].join(', ')}`);
EOF
    # Replay under every policy: exit 0, or 1 when a policy shows a violation (a finding, not a
    # failure of the engine); 2 (bad input) and 3 (internal error) fail the test.
    if has_command replay; then
        local rc=0
        invtrace replay "$trace" --policy all -o "$OUT/replay-$name" || rc=$?
        [ "$rc" -le 1 ] || fail "$name: invtrace replay exited with status $rc"
        log "$name: replayed under every policy into $OUT/replay-$name (status $rc)"
    else
        log "$name: SKIPPED replay: this build has no 'invtrace replay' command yet"
    fi
}

# ------------------------------------------------------------------ runs
run_vtd() {
    local kver=${KVER_X86:-$(capture default_kver amd64)} d guest
    log "VT-d: guest kernel $kver"
    prepare_guest amd64 "$kver" vtd
    d=$SCRATCH/amd64-$kver
    guest=$(invtrace record --guest-cmdline vtd 2>/dev/null)
    rm -f "$OUT/console-vtd.txt"
    # The command's own -serial file: is reused by --console; --keep-log keeps the raw files.
    timeout "$TIMEOUT" node "$ROOT/dist/bin/invtrace.js" record -o "$OUT/vtd.arrow" --console --keep-log -- \
        qemu-system-x86_64 -accel tcg,thread=single -machine q35,kernel-irqchip=split -cpu max -smp 2 -m 1024 \
        -nodefaults -display none -no-reboot \
        -device intel-iommu,intremap=on,caching-mode=on,device-iotlb=on \
        -kernel "$d/root/boot/vmlinuz-$kver" -initrd "$d/initrd-record.gz" \
        -append "console=ttyS0 intel_iommu=on,sm_off iommu.strict=1 iommu.passthrough=0 panic=-1 loglevel=7 wl_disks=vda wl_rounds=1 $guest" \
        -serial "file:$OUT/console-vtd.txt" \
        -device pcie-root-port,id=rp0,chassis=1,slot=1 \
        -drive "if=none,id=d0,file=$d/disk0.img,format=raw,cache=unsafe" \
        -device virtio-blk-pci,bus=rp0,drive=d0,disable-legacy=on,iommu_platform=on,ats=on ||
        fail "vtd: invtrace record exited with status $?"
    for f in vtd.qemu.log vtd.trace-events console-vtd.txt; do [ -s "$OUT/$f" ] || fail "vtd: --keep-log lost $f"; done
    grep -q '^@@@@ END GUEST TRACE' <(tr -d '\r' < "$OUT/console-vtd.txt") || fail "vtd: the guest did not finish its dump"
    # iotlb_inv: strict unmaps; dev_tlb_inv: the ATS virtio-blk; inv_wait: completion points (QEMU side).
    check_trace vtd vtd "iotlb_inv dev_tlb_inv inv_wait iec_inv cc_inv" 2
}

run_smmuv3() {
    local kver=${KVER_ARM64:-$(capture default_kver arm64)} d guest before after
    log "SMMUv3: guest kernel $kver"
    prepare_guest arm64 "$kver" smmuv3
    d=$SCRATCH/arm64-$kver
    guest=$(invtrace record --guest-cmdline smmuv3 --kernel-version "$kver" 2>/dev/null)
    before=$(ls -d "${TMPDIR:-/tmp}"/invtrace-record-* 2>/dev/null | sort || true)
    # No -serial: --console adds -serial file:; without --keep-log the raw files go to a temp dir.
    timeout "$TIMEOUT" node "$ROOT/dist/bin/invtrace.js" record -o "$OUT/smmuv3.arrow" --console -- \
        qemu-system-aarch64 -M virt,iommu=smmuv3,gic-version=3 -cpu cortex-a57 -smp 2 -m 1024 \
        -nodefaults -display none -no-reboot \
        -kernel "$d/root/boot/vmlinuz-$kver" -initrd "$d/initrd-record.gz" \
        -append "console=ttyAMA0 iommu.strict=1 iommu.passthrough=0 panic=-1 loglevel=7 wl_disks=vda wl_rounds=1 $guest" \
        -drive "if=none,id=d0,file=$d/disk0.img,format=raw,cache=unsafe" \
        -device virtio-blk-pci,drive=d0,disable-legacy=on,iommu_platform=on ||
        fail "smmuv3: invtrace record exited with status $?"
    after=$(ls -d "${TMPDIR:-/tmp}"/invtrace-record-* 2>/dev/null | sort || true)
    [ "$before" = "$after" ] || fail "smmuv3: record left its temp dir behind: $(comm -13 <(echo "$before") <(echo "$after"))"
    # CMD_TLBI_NH_VA: strict unmaps; CMD_SYNC: completion points; CMD_CFGI_STE: devices attached.
    check_trace smmuv3 smmuv3 "CMD_TLBI_NH_VA CMD_SYNC CMD_CFGI_STE" 2
}

# run_interrupted: SIGTERM to invtrace record while the SMMUv3 guest runs goes to QEMU, which shuts
# down (status 0); record outlives it, publishes the log and ingests what QEMU wrote.
run_interrupted() {
    local kver=${KVER_ARM64:-$(capture default_kver arm64)} d pid rc=0 i
    d=$SCRATCH/arm64-$kver
    rm -f "$OUT"/sigterm.* "$OUT"/.sigterm.*
    node "$ROOT/dist/bin/invtrace.js" record -o "$OUT/sigterm.arrow" --keep-log -- \
        qemu-system-aarch64 -M virt,iommu=smmuv3,gic-version=3 -cpu cortex-a57 -smp 2 -m 1024 \
        -nodefaults -display none -no-reboot -serial null \
        -kernel "$d/root/boot/vmlinuz-$kver" -initrd "$d/initrd-record.gz" \
        -append "console=ttyAMA0 iommu.strict=1 panic=-1 wl_disks=vda wl_rounds=20" \
        -drive "if=none,id=d0,file=$d/disk0.img,format=raw,cache=unsafe" \
        -device virtio-blk-pci,drive=d0,disable-legacy=on,iommu_platform=on &
    pid=$!
    for ((i = 0; i < 600; i++)); do      # until QEMU has logged TLBIs of the workload (at most 2 min)
        grep -q SMMU_CMD_TLBI_NH_VA "$OUT"/.sigterm.qemu.log.*.tmp 2>/dev/null && break
        sleep 0.2
    done
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || fail "interrupted run: record exited with status $rc (QEMU exits 0 on SIGTERM)"
    [ -s "$OUT/sigterm.qemu.log" ] || fail "interrupted run: the QEMU log was not published"
    ! ls "$OUT"/.sigterm.* > /dev/null 2>&1 || fail "interrupted run: temporary files left: $(ls "$OUT"/.sigterm.*)"
    check_trace sigterm smmuv3 "CMD_TLBI_NH_VA CMD_SYNC"
}

ensure_packages
[ -f "$ROOT/dist/bin/invtrace.js" ] || fail "build first (npm run build)"
# A command line without a vIOMMU is refused before anything runs.
if out=$(invtrace record -o "$OUT/none.arrow" -- qemu-system-x86_64 -M q35 2>&1); then fail "no-vIOMMU run succeeded"; fi
[[ $out == *"no vIOMMU"* ]] || fail "unexpected no-vIOMMU message: $out"
for a in $ARCHES; do "run_$a"; done
if [[ " $ARCHES " == *" smmuv3 "* ]]; then run_interrupted; fi
log "PASS ($ARCHES)"
