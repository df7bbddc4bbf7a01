#!/usr/bin/env python3
# Regenerates src/agent/demo_catalog_text.cpp from catalogs/demo.yaml (run from the repository root).
import pathlib
root = pathlib.Path(__file__).resolve().parents[2]
src = (root / 'catalogs/demo.yaml').read_text(encoding='utf-8')
assert ')OMNI_YAML"' not in src
(root / 'src/agent/demo_catalog_text.cpp').write_text(
    "// The built-in demo catalog: a byte-for-byte copy of catalogs/demo.yaml, so `omni` works from any\n"
    "// path without its source tree. Regenerate with: python3 src/agent/embed_demo_catalog.py\n"
    "// (test_agent fails when the copy is stale).\n"
    '#include "agent/catalog.hpp"\n\nnamespace omni::agent {\n\nconst std::string& Catalog::demo_text() {\n'
    '  static const std::string text = R"OMNI_YAML(' + src + ')OMNI_YAML";\n  return text;\n}\n\n}  // namespace omni::agent\n',
    encoding='utf-8')
