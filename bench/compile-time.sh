#!/usr/bin/env bash
# Compile-time cost of the macros: a crate of 50 models x 10 fields built
# with `#[orm::model]`, against the same structs with `#[derive(sqlx::FromRow)]`.
# Dependencies are built first and not timed; then each crate's own build is
# timed (touch, cargo build) several times and the medians compared. Also
# counts the lines of expanded code per model (rustc's -Zunpretty=expanded,
# allowed on a stable compiler by RUSTC_BOOTSTRAP=1).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
work="$here/target/compile-time"
rm -rf "$work" && mkdir -p "$work"
export CARGO_TARGET_DIR="$work/target"

gen() { # $1 = orm | sqlx
  local dir="$work/$1"
  mkdir -p "$dir/src"
  if [ "$1" = orm ]; then
    printf '[package]\nname = "ct-orm"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\norm = { path = "%s/../orm" }\n\n[workspace]\n' "$here" > "$dir/Cargo.toml"
  else
    printf '[package]\nname = "ct-sqlx"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nsqlx = { version = "0.9", default-features = false, features = ["runtime-tokio", "sqlite", "derive"] }\n\n[workspace]\n' > "$dir/Cargo.toml"
  fi
  {
    for m in $(seq 1 50); do
      if [ "$1" = orm ]; then
        echo "#[orm::model(table = \"table_$m\")]"
      else
        echo "#[derive(sqlx::FromRow)]"
      fi
      echo "pub struct Model$m {"
      if [ "$1" = orm ]; then echo "    #[orm(primary_key, auto)]"; fi
      echo "    pub id: i64,"
      for f in $(seq 1 9); do
        case $((f % 3)) in
          0) echo "    pub name_$f: String," ;;
          1) echo "    pub count_$f: i32," ;;
          2) echo "    pub note_$f: Option<String>," ;;
        esac
      done
      echo "}"
      echo
    done
  } > "$dir/src/lib.rs"
}

time_build() { # prints the median of 3 timed builds of the crate itself, in ms
  local dir="$work/$1" times=()
  (cd "$dir" && cargo build -q 2>/dev/null)
  for _ in 1 2 3; do
    touch "$dir/src/lib.rs"
    local t0 t1
    t0=$(date +%s%N)
    (cd "$dir" && cargo build -q)
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

expanded_lines() {
  (cd "$work/$1" && RUSTC_BOOTSTRAP=1 cargo rustc -q --lib -- -Zunpretty=expanded 2>/dev/null) | grep -cv '^\s*$'
}

gen orm
gen sqlx
orm_ms=$(time_build orm)
sqlx_ms=$(time_build sqlx)
orm_lines=$(expanded_lines orm)
sqlx_lines=$(expanded_lines sqlx)
echo "build of the crate (50 models x 10 fields), median of 3:"
echo "  #[orm::model]:           ${orm_ms} ms"
echo "  #[derive(sqlx::FromRow)]: ${sqlx_ms} ms"
awk -v a="$orm_ms" -v b="$sqlx_ms" 'BEGIN { printf "  ratio: %.2fx\n", a / b }'
echo "expanded lines per model (non-blank): orm $((orm_lines / 50)), sqlx FromRow $((sqlx_lines / 50))"
