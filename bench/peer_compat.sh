#!/usr/bin/env bash
# bench/peer_compat.sh — proves that the aws CLI and s5cmd work against `s3io serve`.
#
# Starts the embedded server on 127.0.0.1 (OS-chosen port) in a temporary directory, then has each
# client create a bucket, upload a small file and a 40 MiB file (multipart for both clients),
# download them whole and by byte range, list, run an explicit multipart upload (aws s3api:
# create / upload-part / list-multipart-uploads / complete / abort), copy a prefix, delete and
# remove the bucket. Every step is checked (SHA-256 of the bytes, sizes, ETags, listings) and
# printed as PASS or FAIL with the client's error text; the exit code is 1 if any step failed.
#
# Usage: bench/peer_compat.sh                 (both clients)
#        CLIENTS=s5cmd bench/peer_compat.sh   (one of them)
#        S3IO_BIN=/path/to/s3io NO_BUILD=1 PEERS_DIR=... S5CMD_BIN=... AWS_BIN=... (see bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS="${CLIENTS:-awscli s5cmd}"
STEP_TIMEOUT="${STEP_TIMEOUT:-120}"

passes=0 fails=0
# check NAME CMD...: runs CMD (under a timeout), prints PASS or FAIL with the tail of its output.
check() {
    local name="$1"; shift
    local out="$work/step.out"
    # Shell functions cannot be exec'd by timeout: hand them to a child bash.
    local funcs
    funcs="$(declare -f aws_ s5_ s5ls s3io_ etag_aws sha same_bytes expect_fail grep_out not_grep_out)"
    if timeout -k 5 "$STEP_TIMEOUT" bash -c "$funcs"'; "$@"' check "$@" >"$out" 2>&1; then
        printf 'PASS  %-8s %s\n' "$client" "$name"
        passes=$((passes + 1))
    else
        local rc=$?
        printf 'FAIL  %-8s %s (exit %d)\n' "$client" "$name" "$rc"
        sed 's/^/        | /' "$out" | tail -n 15
        fails=$((fails + 1))
    fi
}

sha() { sha256sum "$1" | awk '{print $1}'; }
# same_bytes EXPECTED ACTUAL: equal sizes and SHA-256 digests.
same_bytes() {
    [[ -f "$2" ]] || { echo "missing: $2"; return 1; }
    local a b
    a="$(stat -c %s "$1") $(sha "$1")" b="$(stat -c %s "$2") $(sha "$2")"
    [[ "$a" == "$b" ]] || { echo "expected size+sha256 $a"; echo "got      size+sha256 $b"; return 1; }
}
# expect_fail CMD...: succeeds when CMD fails (e.g. HEAD of a deleted key).
expect_fail() { if "$@"; then echo "expected a failure, the command succeeded"; return 1; fi; }
# grep_out PATTERN CMD...: CMD succeeds and its output matches PATTERN (extended regex).
grep_out() {
    local pat="$1"; shift
    local o; o="$("$@")" || { echo "$o"; return 1; }
    echo "$o"
    grep -Eq -- "$pat" <<<"$o" || { echo "no line matches /$pat/"; return 1; }
}
not_grep_out() {
    local pat="$1"; shift
    local o; o="$("$@")" || { echo "$o"; return 1; }
    echo "$o"
    if grep -Eq -- "$pat" <<<"$o"; then echo "a line matches /$pat/"; return 1; fi
}

find_peers
build_s3io
start_server
log "versions: s3io $(peer_version s3io); $(peer_version awscli); s5cmd $(peer_version s5cmd)"

data="$work/data" out="$work/out"
mkdir -p "$data" "$out"
make_file "$data/small.bin" 102400                 # 100 KiB: one PutObject
make_file "$data/big.bin" $((40 * 1024 * 1024))    # 40 MiB: multipart for both clients
head -c 100 "$data/big.bin" >"$data/range-0-99"
dd if="$data/big.bin" of="$data/range-1m-2m" bs=1048576 skip=1 count=1 status=none   # bytes=1048576-2097151
tail -c 100 "$data/big.bin" >"$data/range-suffix-100"
head -c $((5 * 1024 * 1024)) "$data/big.bin" >"$data/part1"
tail -c +$((5 * 1024 * 1024 + 1)) "$data/big.bin" >"$data/part2"
for i in 0 1 2; do make_file "$data/tree-$i" 4096; done

aws_() { "$AWS_BIN" --endpoint-url "$ENDPOINT" "$@"; }
s5_() { "$S5CMD_BIN" --log error --endpoint-url "$ENDPOINT" "$@"; }
# s5cmd prints listings through its logger: `ls` needs the default log level.
s5ls() { "$S5CMD_BIN" --endpoint-url "$ENDPOINT" ls "$@"; }
s3io_() { "$S3IO" --endpoint-url "$ENDPOINT" --quiet "$@"; }

# ETag of an object as the server reports it (through the aws CLI's HeadObject, or s5cmd ls -e).
etag_aws() { aws_ s3api head-object --bucket "$1" --key "$2" --query ETag --output text; }

run_awscli() {
    local b=compat-awscli
    check "mb (CreateBucket)" aws_ s3 mb "s3://$b"
    check "put small 100 KiB (PutObject)" aws_ s3 cp --quiet "$data/small.bin" "s3://$b/small.bin"
    check "put 40 MiB (multipart, 8 MiB parts)" aws_ s3 cp --quiet "$data/big.bin" "s3://$b/dir/big.bin"
    check "40 MiB object has a multipart ETag (-5)" grep_out '^"?[0-9a-f]{32}-5"?$' etag_aws "$b" dir/big.bin
    check "head-object ContentLength" grep_out "^$((40 * 1024 * 1024))\$" \
        aws_ s3api head-object --bucket "$b" --key dir/big.bin --query ContentLength --output text
    check "get small whole, sha256" bash -c "$(declare -f aws_); aws_ s3 cp --quiet s3://$b/small.bin '$out/a-small' && $(declare -f sha same_bytes); same_bytes '$data/small.bin' '$out/a-small'"
    check "get 40 MiB whole, sha256" bash -c "$(declare -f aws_); aws_ s3 cp --quiet s3://$b/dir/big.bin '$out/a-big' && $(declare -f sha same_bytes); same_bytes '$data/big.bin' '$out/a-big'"
    check "get-object --range bytes=0-99" bash -c "$(declare -f aws_); aws_ s3api get-object --bucket $b --key dir/big.bin --range bytes=0-99 '$out/a-r1' >'$out/a-r1.json' && grep -q '\"ContentRange\": \"bytes 0-99/41943040\"' '$out/a-r1.json' && $(declare -f sha same_bytes); same_bytes '$data/range-0-99' '$out/a-r1'"
    check "get-object --range bytes=1048576-2097151" bash -c "$(declare -f aws_); aws_ s3api get-object --bucket $b --key dir/big.bin --range bytes=1048576-2097151 '$out/a-r2' >/dev/null && $(declare -f sha same_bytes); same_bytes '$data/range-1m-2m' '$out/a-r2'"
    check "get-object --range bytes=-100 (suffix)" bash -c "$(declare -f aws_); aws_ s3api get-object --bucket $b --key dir/big.bin --range bytes=-100 '$out/a-r3' >/dev/null && $(declare -f sha same_bytes); same_bytes '$data/range-suffix-100' '$out/a-r3'"
    check "s3 ls (delimiter): small.bin and PRE dir/" grep_out 'PRE dir/' aws_ s3 ls "s3://$b/"
    check "s3 ls --recursive: dir/big.bin with its size" grep_out " 41943040 dir/big.bin\$" aws_ s3 ls --recursive "s3://$b/"
    check "list-objects-v2 KeyCount=2" grep_out '^2$' aws_ s3api list-objects-v2 --no-paginate --bucket "$b" --query KeyCount --output text
    check "list-objects-v2 pagination (--max-items 1 over 2 keys)" grep_out 'NextToken' \
        aws_ s3api list-objects-v2 --bucket "$b" --max-items 1 --output json

    # Explicit multipart upload: 5 MiB + 35 MiB parts, listed in flight, completed, read back.
    local id
    check "create-multipart-upload" bash -c "$(declare -f aws_); aws_ s3api create-multipart-upload --bucket $b --key mpu.bin --query UploadId --output text >'$out/upload-id'"
    id="$(cat "$out/upload-id" 2>/dev/null || true)"
    check "upload-part 1 (5 MiB)" bash -c "$(declare -f aws_); aws_ s3api upload-part --bucket $b --key mpu.bin --part-number 1 --upload-id '$id' --body '$data/part1' --query ETag --output text >'$out/etag1'"
    check "upload-part 2 (35 MiB)" bash -c "$(declare -f aws_); aws_ s3api upload-part --bucket $b --key mpu.bin --part-number 2 --upload-id '$id' --body '$data/part2' --query ETag --output text >'$out/etag2'"
    check "list-multipart-uploads shows it" grep_out "$id" aws_ s3api list-multipart-uploads --bucket "$b" --output text
    check "list-parts shows 2 parts" grep_out '^2$' aws_ s3api list-parts --bucket "$b" --key mpu.bin --upload-id "$id" --query 'length(Parts)' --output text
    printf '{"Parts":[{"PartNumber":1,"ETag":%s},{"PartNumber":2,"ETag":%s}]}' \
        "$(cat "$out/etag1" 2>/dev/null | sed 's/^"*/"/; s/"*$/"/' || echo '""')" \
        "$(cat "$out/etag2" 2>/dev/null | sed 's/^"*/"/; s/"*$/"/' || echo '""')" >"$out/parts.json"
    check "complete-multipart-upload" aws_ s3api complete-multipart-upload --bucket "$b" --key mpu.bin --upload-id "$id" --multipart-upload "file://$out/parts.json"
    check "completed object: ETag -2, sha256" bash -c "$(declare -f aws_ etag_aws); etag_aws $b mpu.bin | grep -Eq '^\"?[0-9a-f]{32}-2\"?\$' && aws_ s3 cp --quiet s3://$b/mpu.bin '$out/a-mpu' && $(declare -f sha same_bytes); same_bytes '$data/big.bin' '$out/a-mpu'"
    check "s3io reads what the aws CLI wrote (sha256)" bash -c "'$S3IO' --endpoint-url '$ENDPOINT' --quiet cp s3://$b/mpu.bin '$out/a-mpu-s3io' && $(declare -f sha same_bytes); same_bytes '$data/big.bin' '$out/a-mpu-s3io'"
    check "abort-multipart-upload" bash -c "$(declare -f aws_); id2=\$(aws_ s3api create-multipart-upload --bucket $b --key aborted.bin --query UploadId --output text) && aws_ s3api abort-multipart-upload --bucket $b --key aborted.bin --upload-id \"\$id2\" && ! aws_ s3api list-multipart-uploads --bucket $b --output text | grep -q \"\$id2\""

    check "cp --recursive up and down (3 files)" bash -c "$(declare -f aws_); mkdir -p '$out/a-tree-up' '$out/a-tree-down' && cp '$data'/tree-* '$out/a-tree-up/' && aws_ s3 cp --quiet --recursive '$out/a-tree-up/' s3://$b/tree/ && aws_ s3 cp --quiet --recursive s3://$b/tree/ '$out/a-tree-down/' && diff -r '$out/a-tree-up' '$out/a-tree-down'"
    check "rm (DeleteObject)" aws_ s3 rm --quiet "s3://$b/small.bin"
    check "head-object of the deleted key fails (404)" bash -c "$(declare -f aws_); o=\$(aws_ s3api head-object --bucket $b --key small.bin 2>&1); rc=\$?; echo \"\$o\"; [ \$rc -ne 0 ] && echo \"\$o\" | grep -q '404'"
    check "deleted key no longer listed" not_grep_out ' small.bin$' aws_ s3 ls --recursive "s3://$b/"
    check "rm --recursive (DeleteObjects)" aws_ s3 rm --quiet --recursive "s3://$b/"
    check "bucket empty after rm --recursive" grep_out '^0$' aws_ s3api list-objects-v2 --no-paginate --bucket "$b" --query KeyCount --output text
    check "rb (DeleteBucket)" aws_ s3 rb "s3://$b"
}

run_s5cmd() {
    local b=compat-s5cmd
    check "mb (CreateBucket)" s5_ mb "s3://$b"
    check "put small 100 KiB" s5_ cp "$data/small.bin" "s3://$b/small.bin"
    check "put 40 MiB (multipart: -p 8 = 8 MiB parts)" s5_ cp -p 8 "$data/big.bin" "s3://$b/dir/big.bin"
    check "40 MiB object has a multipart ETag (-5)" grep_out '[0-9a-f]{32}-5' s5ls -e "s3://$b/dir/big.bin"
    check "get small whole, sha256" bash -c "$(declare -f s5_); s5_ cp s3://$b/small.bin '$out/s-small' && $(declare -f sha same_bytes); same_bytes '$data/small.bin' '$out/s-small'"
    check "get 40 MiB whole (default: one 50 MiB part), sha256" bash -c "$(declare -f s5_); s5_ cp s3://$b/dir/big.bin '$out/s-big' && $(declare -f sha same_bytes); same_bytes '$data/big.bin' '$out/s-big'"
    check "get 40 MiB by ranged GETs (-p 5: 8 Range requests), sha256" bash -c "$(declare -f s5_); s5_ cp -p 5 -c 4 s3://$b/dir/big.bin '$out/s-big-ranged' && $(declare -f sha same_bytes); same_bytes '$data/big.bin' '$out/s-big-ranged'"
    check "cat 40 MiB (ranged, in order), sha256" bash -c "$(declare -f s5_); s5_ cat s3://$b/dir/big.bin >'$out/s-cat' && $(declare -f sha same_bytes); same_bytes '$data/big.bin' '$out/s-cat'"
    check "ls bucket: buckets list shows it" grep_out "s3://$b" s5ls
    check "ls s3://b/ (delimiter): small.bin and DIR dir/" grep_out 'DIR +dir/' s5ls "s3://$b/"
    check "ls 's3://b/*': dir/big.bin with its size" grep_out ' 41943040 +dir/big.bin$' s5ls "s3://$b/*"
    check "cp up and down with wildcards (3 files)" bash -c "$(declare -f s5_); mkdir -p '$out/s-tree-up' '$out/s-tree-down' && cp '$data'/tree-* '$out/s-tree-up/' && s5_ cp '$out/s-tree-up/*' s3://$b/tree/ && s5_ cp 's3://$b/tree/*' '$out/s-tree-down/' && diff -r '$out/s-tree-up' '$out/s-tree-down'"
    check "s3io reads what s5cmd wrote (sha256)" bash -c "'$S3IO' --endpoint-url '$ENDPOINT' --quiet cp s3://$b/dir/big.bin '$out/s-big-s3io' && $(declare -f sha same_bytes); same_bytes '$data/big.bin' '$out/s-big-s3io'"
    check "rm one key (DeleteObject)" s5_ rm "s3://$b/small.bin"
    check "deleted key no longer listed" not_grep_out ' small.bin$' s5ls "s3://$b/*"
    check "rm 's3://b/*' (DeleteObjects)" s5_ rm "s3://$b/*"
    check "bucket empty after rm" bash -c "$(declare -f s5_); o=\$(s5ls 's3://$b/*' 2>&1); echo \"\$o\"; ! echo \"\$o\" | grep -q '[0-9] '"
    check "rb (DeleteBucket)" s5_ rb "s3://$b"
}

for client in $CLIENTS; do
    peer_available "$client" || { printf 'FAIL  %-8s not installed\n' "$client"; fails=$((fails + 1)); continue; }
    log "$client $(peer_version "$client") against s3io serve $(peer_version s3io)"
    "run_$client"
done

echo
echo "peer_compat: $passes passed, $fails failed"
[[ $fails -eq 0 ]]
