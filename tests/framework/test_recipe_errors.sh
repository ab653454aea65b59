#!/usr/bin/env bash
# Recipe errors are heed::RecipeError (framework/error.h), never a plain heed::Error whose text
# starts with "recipe": with_recipe_path passes a RecipeError on unchanged and prefixes the part's
# path to every other error, so a plain `HEED_CHECK(..., "recipe: \"", path, ...)` inside a part's
# constructor would come out prefixed twice. Fails naming every file and line of framework/,
# layers/, optim/, datasets/ and bench/ where a HEED_CHECK or an Error(...) builds such a message
# (use HEED_RECIPE_CHECK, recipe_error or RecipeError). ($1, the heed binary, is not used.)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# Each HEED_CHECK( or Error( (not RecipeError( ...) up to the next ";" that ends a line: a hit
# when it holds a string literal starting with "recipe: or "recipe followed by a space.
# shellcheck disable=SC2016  # a perl program, not shell expansions
scan='
  my $name = $ARGV[0];
  my $text = do { local $/; <> };
  while ($text =~ /(?<![A-Za-z0-9_])(HEED_CHECK|Error)\s*\(/g) {
    my $start = $-[0];
    my $end = index($text, ";\n", $start);
    $end = length($text) if $end < 0;
    my $call = substr($text, $start, $end - $start);
    if ($call =~ /"recipe(:| )/) {
      my $line = 1 + (substr($text, 0, $start) =~ tr/\n//);
      print "$name:$line: ", (split /\n/, $call)[0], "\n";
    }
  }'
# The scan itself, so that a mistake in it cannot make this test pass on anything.
probe=$'  HEED_CHECK(ok, "recipe: \\"",\n             c.path_of("x"), "\\" bad");\n'
[ -n "$(perl -e "$scan" - <<<"$probe")" ] ||
  { echo "test_recipe_errors: the scan misses a two-line HEED_CHECK" >&2; exit 1; }
[ -z "$(perl -e "$scan" - <<<'  HEED_RECIPE_CHECK(ok, c.path_of("x"), " bad");')" ] ||
  { echo "test_recipe_errors: the scan flags HEED_RECIPE_CHECK" >&2; exit 1; }
hits=""
cd "$root"
while IFS= read -r file; do
  out=$(perl -e "$scan" "$file")
  [ -z "$out" ] || hits+="$out"$'\n'
done < <(find framework layers optim datasets bench -name '*.h' -o -name '*.cpp' | sort)
if [ -n "$hits" ]; then
  echo "test_recipe_errors: a recipe error thrown as a plain heed::Error (use HEED_RECIPE_CHECK," \
       "recipe_error or RecipeError, framework/error.h):" >&2
  printf '%s' "$hits" >&2
  exit 1
fi
echo "test_recipe_errors: every recipe error is a RecipeError"
