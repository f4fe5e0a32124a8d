"""Tool-call shapes Qwen-family models emit, as a table: each model output with the calls
it must produce and the answer the user must see. Sources: llama.cpp tests/test-chat.cpp (Hermes 2
Pro / Qwen2.5 / QwQ-32B parsing); vLLM tests/tool_use/test_qwen3coder_tool_parser.py and
tests/entrypoints/openai/tool_parsers/test_hermes_tool_parser.py, test_qwen3xml_tool_parser.py;
Ollama tools/tools_test.go and model/parsers/qwen3coder_test.go; SGLang
test/srt/test_function_call_parser.py and its Qwen25Detector unit tests; Qwen2.5-Coder reports
(vLLM issue #32926 / PR #33083, Ollama issue #12174, ardanlabs/kronk issue #944)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    name: str  # unique, snake_case
    # what the model writes: outputs[0] first, outputs[k] after the k-th resume
    outputs: tuple[str, ...]
    # expected search arguments, in order, e.g. ({"query": "x"},)
    calls: tuple[dict[str, Any], ...] = ()
    # the final answer the user must see (compared with whitespace runs collapsed to one space,
    # stripped)
    answer: str = ""
    # the model starts inside <think> (a reasoning model): text before </think> is thinking
    think: bool = False
    source: str = field(default="", compare=False)  # runtime + test it was adapted from


CASES: tuple[Case, ...] = (
    # -- no wrapper ------------------------------------------------------------------------------
    Case(
        name="bare_object",
        outputs=(
            '{"name": "web_search", "arguments": {"query": "Artemis II crewed launch date"}}',
            "NASA currently targets April 2026 for the Artemis II crewed lunar flyby [1].",
        ),
        calls=({"query": "Artemis II crewed launch date"},),
        answer="NASA currently targets April 2026 for the Artemis II crewed lunar flyby [1].",
        source=(
            "Ollama issue #12174 (qwen2.5-coder bare JSON); llama.cpp tests/test-chat.cpp (Hermes "
            "2 Pro / Qwen2.5 parse) bare object"
        ),
    ),
    Case(
        name="bare_object_after_text",
        outputs=(
            (
                'I\'ll look up the latest estimate. {"name": "web_search", "arguments": {"query": '
                '"Lagos population 2024 estimate"}}'
            ),
            "Lagos is estimated at roughly 16.5 million residents in 2024 [1].",
        ),
        calls=({"query": "Lagos population 2024 estimate"},),
        answer=(
            "I'll look up the latest estimate. Lagos is estimated at roughly 16.5 million "
            "residents in 2024 [1]."
        ),
        source="Ollama tools/tools_test.go (llama3.2 tool call after leading text)",
    ),
    Case(
        name="bare_object_newline_after_brace",
        outputs=(
            (
                "{\n"
                '  "name": "web_search", "arguments": {"query": "Rust 1.80 LazyCell '
                'stabilization"}}'
            ),
            "Rust 1.80 stabilized LazyCell and LazyLock in July 2024 [1].",
        ),
        calls=({"query": "Rust 1.80 LazyCell stabilization"},),
        answer="Rust 1.80 stabilized LazyCell and LazyLock in July 2024 [1].",
        source='llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) ({\\n  "name": ...})',
    ),
    Case(
        name="bare_object_parameters_key",
        outputs=(
            (
                '{"name": "web_search", "parameters": {"query": "Nobel Prize in Physics 2024 '
                'laureates"}}'
            ),
            "The 2024 physics prize went to John Hopfield and Geoffrey Hinton [1].",
        ),
        calls=({"query": "Nobel Prize in Physics 2024 laureates"},),
        answer="The 2024 physics prize went to John Hopfield and Geoffrey Hinton [1].",
        source="Ollama tools/tools_test.go (llama3.2 name/parameters)",
    ),
    Case(
        name="bare_action_input",
        outputs=(
            (
                "Let me check.\n"
                '{"action": "web_search", "action_input": {"query": "EU AI Act general-purpose AI '
                'obligations date"}}'
            ),
            "Obligations for general-purpose AI models apply from 2 August 2025 [1].",
        ),
        calls=({"query": "EU AI Act general-purpose AI obligations date"},),
        answer=(
            "Let me check. Obligations for general-purpose AI models apply from 2 August 2025 [1]."
        ),
        source="this repo's seed format (action/action_input, tests/agent/test_loop.py)",
    ),
    Case(
        name="bare_arguments_before_name",
        outputs=(
            (
                '{"arguments": {"query": "Python 3.13 free-threaded build status"}, "name": '
                '"web_search"}'
            ),
            "Python 3.13 ships an experimental free-threaded build without the GIL [1].",
        ),
        calls=({"query": "Python 3.13 free-threaded build status"},),
        answer="Python 3.13 ships an experimental free-threaded build without the GIL [1].",
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) (key order is not fixed)"
        ),
    ),
    Case(
        name="bare_action_input_before_action",
        outputs=(
            (
                '{"action_input": {"query": "Casgevy sickle cell FDA approval"}, "action": '
                '"web_search"}'
            ),
            "The FDA approved Casgevy for sickle cell disease in December 2023 [1].",
        ),
        calls=({"query": "Casgevy sickle cell FDA approval"},),
        answer="The FDA approved Casgevy for sickle cell disease in December 2023 [1].",
        source=(
            "this repo's seed format (action/action_input, tests/agent/test_loop.py), keys reversed"
        ),
    ),
    Case(
        name="bare_object_spaces_before_colons",
        outputs=(
            (
                "Searching.\n"
                '{ "name" : "web_search" , "arguments" : { "query" : "Voyager 1 thruster problem '
                '2024" } }'
            ),
            "Engineers switched Voyager 1 to a backup set of thrusters in 2024 [1].",
        ),
        calls=({"query": "Voyager 1 thruster problem 2024"},),
        answer="Searching. Engineers switched Voyager 1 to a backup set of thrusters in 2024 [1].",
        source="Ollama tools/tools_test.go (qwen3 '{ \"name\": ...}' with spaces)",
    ),
    Case(
        name="bare_object_pretty_printed",
        outputs=(
            (
                "{\n"
                '  "name": "web_search",\n'
                '  "arguments": {\n'
                '    "query": "Great Barrier Reef mass bleaching 2024"\n'
                "  }\n"
                "}"
            ),
            "In 2024 the reef suffered its fifth mass bleaching in eight years [1].",
        ),
        calls=({"query": "Great Barrier Reef mass bleaching 2024"},),
        answer="In 2024 the reef suffered its fifth mass bleaching in eight years [1].",
        source="nicedreamzapp/claude-code-local PR #43 (Qwen2.5-Coder pretty-printed bare call)",
    ),
    Case(
        name="bare_list_two_calls",
        outputs=(
            (
                '[{"name": "web_search", "arguments": {"query": "Tokyo population 2025"}}, '
                '{"name": "web_search", "arguments": {"query": "Osaka population 2025"}}]'
            ),
            "Tokyo has about 14 million residents [1] and Osaka about 2.7 million [2].",
        ),
        calls=({"query": "Tokyo population 2025"}, {"query": "Osaka population 2025"}),
        answer="Tokyo has about 14 million residents [1] and Osaka about 2.7 million [2].",
        source="Ollama tools/tools_test.go (qwen2.5 multiple tool calls without prefix)",
    ),
    Case(
        name="bare_list_pretty_three_calls",
        outputs=(
            (
                "I'll compare the three launch vehicles.\n"
                "[\n"
                '  {"name": "web_search", "arguments": {"query": "Falcon 9 payload to LEO"}},\n'
                '  {"name": "web_search", "arguments": {"query": "Ariane 6 payload to LEO"}},\n'
                '  {"name": "web_search", "arguments": {"query": "H3 rocket payload to LEO"}}\n'
                "]"
            ),
            (
                "Falcon 9 lifts about 22.8 t [1], Ariane 6 up to 21.6 t [2] and H3 around 6.5 t to "
                "SSO [3]."
            ),
        ),
        calls=(
            {"query": "Falcon 9 payload to LEO"},
            {"query": "Ariane 6 payload to LEO"},
            {"query": "H3 rocket payload to LEO"},
        ),
        answer=(
            "I'll compare the three launch vehicles. Falcon 9 lifts about 22.8 t [1], Ariane 6 up "
            "to 21.6 t [2] and H3 around 6.5 t to SSO [3]."
        ),
        source="Ollama tools/tools_test.go (TestParseJSONToolCalls: multiple tool calls in array)",
    ),
    Case(
        name="bare_function_json",
        outputs=(
            '<function=web_search>{"query": "Linux 6.10 release date"}</function>',
            "Linux 6.10 was released on 14 July 2024 [1].",
        ),
        calls=({"query": "Linux 6.10 release date"},),
        answer="Linux 6.10 was released on 14 July 2024 [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) "
            "(<function=special_function>{...}</function>)"
        ),
    ),
    Case(
        name="bare_function_parameter",
        outputs=(
            (
                "Let me search for that.\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "2026 FIFA World Cup host cities\n"
                "</parameter>\n"
                "</function>"
            ),
            "The 2026 World Cup is spread over 16 host cities in three countries [1].",
        ),
        calls=({"query": "2026 FIFA World Cup host cities"},),
        answer=(
            "Let me search for that. The 2026 World Cup is spread over 16 host cities in three "
            "countries [1]."
        ),
        source=(
            "vLLM tests/tool_use/test_qwen3coder_tool_parser.py "
            "(test_extract_tool_calls_fallback_no_tags)"
        ),
    ),
    Case(
        name="bare_function_name_attr",
        outputs=(
            (
                '<function name="web_search">\n'
                '{"query": "Qwen2.5 technical report context length"}\n'
                "</function>"
            ),
            "The Qwen2.5 report lists a 128K-token context for the larger models [1].",
        ),
        calls=({"query": "Qwen2.5 technical report context length"},),
        answer="The Qwen2.5 report lists a 128K-token context for the larger models [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<function "
            'name="special_function">)'
        ),
    ),
    # -- <tool> ----------------------------------------------------------------------------------
    Case(
        name="tool_object",
        outputs=(
            '<tool>\n{"name": "web_search", "arguments": {"query": "JADES-GS-z14-0 redshift"}}',
            "</tool>\nJADES-GS-z14-0 has a spectroscopic redshift of about 14.3 [1].",
        ),
        calls=({"query": "JADES-GS-z14-0 redshift"},),
        answer="JADES-GS-z14-0 has a spectroscopic redshift of about 14.3 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<tool>)",
    ),
    Case(
        name="tool_list",
        outputs=(
            (
                "Two quick lookups.\n"
                "<tool>\n"
                '[{"name": "web_search", "arguments": {"query": "Bitcoin halving 2024 block '
                'reward"}}, {"name": "web_search", "arguments": {"query": "Bitcoin hashrate May '
                '2024"}}]\n'
                "</tool>"
            ),
            (
                "The April 2024 halving cut the reward to 3.125 BTC [1]; hashrate dipped "
                "afterwards [2]."
            ),
        ),
        calls=(
            {"query": "Bitcoin halving 2024 block reward"},
            {"query": "Bitcoin hashrate May 2024"},
        ),
        answer=(
            "Two quick lookups. The April 2024 halving cut the reward to 3.125 BTC [1]; hashrate "
            "dipped afterwards [2]."
        ),
        source=(
            "Ollama tools/tools_test.go (qwen2.5 list) + llama.cpp tests/test-chat.cpp (Hermes 2 "
            "Pro / Qwen2.5 parse) (<tool>)"
        ),
    ),
    Case(
        name="tool_function_json",
        outputs=(
            (
                "<tool>\n"
                '<function=web_search>{"query": "São Paulo metro line 6 opening date"}</function>'
            ),
            "</tool>\nA Linha 6-Laranja deve abrir em 2026 [1].",
        ),
        calls=({"query": "São Paulo metro line 6 opening date"},),
        answer="A Linha 6-Laranja deve abrir em 2026 [1].",
        source=(
            "ardanlabs/kronk issue #944 (Qwen2.5-Coder GGUF wrappers); llama.cpp "
            "tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)"
        ),
    ),
    Case(
        name="tool_function_parameter",
        outputs=(
            (
                "Checking.\n"
                "<tool>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Zürich average rent 2025\n"
                "</parameter>\n"
                "</function>"
            ),
            "</tool>\nAsking rents in Zürich rose again in 2025 [1].",
        ),
        calls=({"query": "Zürich average rent 2025"},),
        answer="Checking. Asking rents in Zürich rose again in 2025 [1].",
        source=(
            "vLLM tests/tool_use/test_qwen3coder_tool_parser.py (single_tool_with_content) in "
            "<tool>"
        ),
    ),
    Case(
        name="tool_function_name_attr",
        outputs=(
            (
                "<tool>\n"
                '<function name="web_search">\n'
                '{"query": "H5N1 dairy cattle outbreak states"}\n'
                "</function>\n"
                "</tool>"
            ),
            "H5N1 has been confirmed in dairy herds in more than a dozen U.S. states [1].",
        ),
        calls=({"query": "H5N1 dairy cattle outbreak states"},),
        answer="H5N1 has been confirmed in dairy herds in more than a dozen U.S. states [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<function name=...>) in "
            "<tool>"
        ),
    ),
    # -- <tools> ---------------------------------------------------------------------------------
    Case(
        name="tools_object",
        outputs=(
            (
                "<tools>\n"
                '{"name": "web_search", "arguments": {"query": "TSMC 2nm mass production '
                'timeline"}}'
            ),
            "</tools>\nTSMC says N2 entered volume production in the second half of 2025 [1].",
        ),
        calls=({"query": "TSMC 2nm mass production timeline"},),
        answer="TSMC says N2 entered volume production in the second half of 2025 [1].",
        source="vLLM issue #32926 / PR #33083 (Qwen2.5-Coder <tools> and ```json calls)",
    ),
    Case(
        name="tools_list",
        outputs=(
            (
                "I'll check both figures.\n"
                "<tools>\n"
                '[{"name": "web_search", "arguments": {"query": "Mars Sample Return cost '
                'estimate"}}, {"name": "web_search", "arguments": {"query": "Mars Sample Return '
                '2025 budget"}}]'
            ),
            (
                "</tools>\n"
                "An independent review put the mission at $8–11 billion [1], and the 2025 budget "
                "request cut it back [2]."
            ),
        ),
        calls=(
            {"query": "Mars Sample Return cost estimate"},
            {"query": "Mars Sample Return 2025 budget"},
        ),
        answer=(
            "I'll check both figures. An independent review put the mission at $8–11 billion [1], "
            "and the 2025 budget request cut it back [2]."
        ),
        source=(
            "vLLM issue #32926 / PR #33083 (Qwen2.5-Coder <tools> and ```json calls) (parallel "
            "calls as a list)"
        ),
    ),
    Case(
        name="tools_function_json",
        outputs=(
            (
                "<tools>\n"
                '<function=web_search>{"query": "Ozempic shortage FDA resolved"}</function>\n'
                "</tools>"
            ),
            "The FDA declared the semaglutide shortage resolved in February 2025 [1].",
        ),
        calls=({"query": "Ozempic shortage FDA resolved"},),
        answer="The FDA declared the semaglutide shortage resolved in February 2025 [1].",
        source="ardanlabs/kronk issue #944 (Qwen2.5-Coder GGUF wrappers) (<tools> opener)",
    ),
    Case(
        name="tools_function_parameter",
        outputs=(
            (
                "<tools>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "  ESP32-C6 Thread Matter support\n"
                "  </parameter>\n"
                "</function>"
            ),
            "</tools>\nThe ESP32-C6 supports Thread 1.3 and Matter over Thread [1].",
        ),
        calls=({"query": "ESP32-C6 Thread Matter support"},),
        answer="The ESP32-C6 supports Thread 1.3 and Matter over Thread [1].",
        source=(
            "vLLM tests/entrypoints/openai/tool_parsers/test_qwen3xml_tool_parser.py (value "
            "trimmed) in <tools>"
        ),
    ),
    Case(
        name="tools_function_name_attr",
        outputs=(
            (
                "Let me verify.\n"
                "<Tools>\n"
                '<function name="web_search">\n'
                '{"query": "tallest building in the world 2025"}\n'
                "</function>\n"
                "</tools>"
            ),
            "The Burj Khalifa, at 828 m, is still the tallest building [1].",
        ),
        calls=({"query": "tallest building in the world 2025"},),
        answer="Let me verify. The Burj Khalifa, at 828 m, is still the tallest building [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) in <tools>",
    ),
    # -- <function_call> -------------------------------------------------------------------------
    Case(
        name="function_call_object",
        outputs=(
            (
                '<function_call> {"name": "web_search", "arguments": {"query": "Café Central '
                'Vienna history"}}'
            ),
            "</function_call>\nCafé Central opened in 1876 in the Palais Ferstel [1].",
        ),
        calls=({"query": "Café Central Vienna history"},),
        answer="Café Central opened in 1876 in the Palais Ferstel [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<function_call> inside "
            "```json)"
        ),
    ),
    Case(
        name="function_call_list",
        outputs=(
            (
                '<function_call> [{"name": "web_search", "parameters": {"query": "Kīlauea eruption '
                '2025 lava fountains"}}, {"name": "web_search", "parameters": {"query": "Kīlauea '
                'alert level"}}]'
            ),
            (
                "</function_call>\n"
                "Kīlauea's summit produced repeated lava fountains in 2025 [1]; the alert level is "
                "WATCH between episodes [2]."
            ),
        ),
        calls=({"query": "Kīlauea eruption 2025 lava fountains"}, {"query": "Kīlauea alert level"}),
        answer=(
            "Kīlauea's summit produced repeated lava fountains in 2025 [1]; the alert level is "
            "WATCH between episodes [2]."
        ),
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse); Ollama "
            "tools/tools_test.go (name/parameters list)"
        ),
    ),
    Case(
        name="function_call_function_json",
        outputs=(
            (
                "One moment.\n"
                '<function_call> <function=web_search>{"query": "Starship flight 7 '
                'outcome"}</function> \n'
                "</function_call>"
            ),
            "Flight 7 caught the booster but lost the ship over the Caribbean [1].",
        ),
        calls=({"query": "Starship flight 7 outcome"},),
        answer="One moment. Flight 7 caught the booster but lost the ship over the Caribbean [1].",
        source=(
            "ardanlabs/kronk issue #944 (Qwen2.5-Coder GGUF wrappers) (<function-call> / "
            "<function> wrappers)"
        ),
    ),
    Case(
        name="function_call_function_parameter",
        outputs=(
            (
                "<function_call> <function=web_search>\n"
                "<parameter=query>\n"
                "WHO pandemic agreement adopted\n"
                "</parameter>\n"
                "</function>"
            ),
            (
                "</function_call>\n"
                "The World Health Assembly adopted the Pandemic Agreement in May 2025 [1]."
            ),
        ),
        calls=({"query": "WHO pandemic agreement adopted"},),
        answer="The World Health Assembly adopted the Pandemic Agreement in May 2025 [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py in <function_call>",
    ),
    Case(
        name="function_call_function_name_attr",
        outputs=(
            (
                '<function_call> <function name="web_search">\n'
                '{"query": "2024 Noto earthquake magnitude"}\n'
                "</function>"
            ),
            "</function_call>\nThe 1 January 2024 Noto earthquake measured magnitude 7.5 [1].",
        ),
        calls=({"query": "2024 Noto earthquake magnitude"},),
        answer="The 1 January 2024 Noto earthquake measured magnitude 7.5 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- <response> ------------------------------------------------------------------------------
    Case(
        name="response_object",
        outputs=(
            (
                "<response>\n"
                '  {"action": "web_search", "action_input": {"query": "Apple M4 neural engine '
                'TOPS"}}'
            ),
            "</response>\nApple rates the M4's Neural Engine at 38 TOPS [1].",
        ),
        calls=({"query": "Apple M4 neural engine TOPS"},),
        answer="Apple rates the M4's Neural Engine at 38 TOPS [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<response>); this "
            "repo's seed format (action/action_input, tests/agent/test_loop.py)"
        ),
    ),
    Case(
        name="response_list",
        outputs=(
            (
                "<response>\n"
                '  [{"name": "web_search", "arguments": {"query": "Wimbledon 2025 men\'s singles '
                'champion"}}, {"name": "web_search", "arguments": {"query": "Wimbledon 2025 '
                "women's singles champion\"}}]\n"
                "</response>"
            ),
            "Jannik Sinner [1] and Iga Świątek [2] won the 2025 Wimbledon singles titles.",
        ),
        calls=(
            {"query": "Wimbledon 2025 men's singles champion"},
            {"query": "Wimbledon 2025 women's singles champion"},
        ),
        answer="Jannik Sinner [1] and Iga Świątek [2] won the 2025 Wimbledon singles titles.",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<response>)",
    ),
    Case(
        name="response_function_json",
        outputs=(
            (
                "<response>\n"
                '  <function=web_search>{"query": "Svalbard seed vault deposits 2025"}</function>'
            ),
            (
                "</response>\n"
                "The Svalbard Global Seed Vault received new deposits in February 2025 [1]."
            ),
        ),
        calls=({"query": "Svalbard seed vault deposits 2025"},),
        answer="The Svalbard Global Seed Vault received new deposits in February 2025 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    Case(
        name="response_function_parameter",
        outputs=(
            (
                "Searching the archive.\n"
                "<RESPONSE>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Gaia mission end date\n"
                "</parameter>\n"
                "</function>\n"
                "</response>"
            ),
            "ESA switched off the Gaia spacecraft in March 2025 [1].",
        ),
        calls=({"query": "Gaia mission end date"},),
        answer="Searching the archive. ESA switched off the Gaia spacecraft in March 2025 [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py in <response>",
    ),
    Case(
        name="response_function_name_attr",
        outputs=(
            (
                "<response>\n"
                '  <function name="web_search">\n'
                '{"query": "Norway electric car share 2024"}\n'
                "</function>"
            ),
            "</response>\nAlmost 89% of new cars sold in Norway in 2024 were fully electric [1].",
        ),
        calls=({"query": "Norway electric car share 2024"},),
        answer="Almost 89% of new cars sold in Norway in 2024 were fully electric [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- <json> ----------------------------------------------------------------------------------
    Case(
        name="json_tag_object",
        outputs=(
            (
                "<json>\n"
                '{"name": "web_search", "arguments": {"query": "Chandrayaan-3 landing site name"}}'
            ),
            "</json>\nThe landing site is named Shiv Shakti point [1].",
        ),
        calls=({"query": "Chandrayaan-3 landing site name"},),
        answer="The landing site is named Shiv Shakti point [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<json>)",
    ),
    Case(
        name="json_tag_object_upper",
        outputs=(
            (
                "<JSON>\n"
                '  {"name": "web_search", "parameters": {"query": "Mpox clade Ib WHO emergency"}}\n'
                "</json>"
            ),
            "WHO declared the clade Ib mpox upsurge a public health emergency in August 2024 [1].",
        ),
        calls=({"query": "Mpox clade Ib WHO emergency"},),
        answer=(
            "WHO declared the clade Ib mpox upsurge a public health emergency in August 2024 [1]."
        ),
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<JSON>)",
    ),
    Case(
        name="json_tag_list",
        outputs=(
            (
                "<json>\n"
                '[{"name": "web_search", "arguments": {"query": "Kenya Finance Bill 2024 '
                'protests"}}, {"name": "web_search", "arguments": {"query": "Kenya Finance Bill '
                'withdrawn date"}}]'
            ),
            (
                "</json>\n"
                "Protests in June 2024 [1] led the president to withdraw the bill on 26 June [2]."
            ),
        ),
        calls=(
            {"query": "Kenya Finance Bill 2024 protests"},
            {"query": "Kenya Finance Bill withdrawn date"},
        ),
        answer="Protests in June 2024 [1] led the president to withdraw the bill on 26 June [2].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<json>)",
    ),
    Case(
        name="json_tag_function_json",
        outputs=(
            (
                "<json>\n"
                '<function=web_search>{"query": "Antarctic sea ice minimum 2024"}</function>\n'
                "</json>"
            ),
            "Antarctic sea ice reached one of its lowest minima on record in February 2024 [1].",
        ),
        calls=({"query": "Antarctic sea ice minimum 2024"},),
        answer="Antarctic sea ice reached one of its lowest minima on record in February 2024 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    Case(
        name="json_tag_function_parameter",
        outputs=(
            (
                "<json>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Paris 2024 Olympics medal table\n"
                "</parameter>\n"
                "</function>"
            ),
            "</json>\nThe United States topped the Paris 2024 medal table [1].",
        ),
        calls=({"query": "Paris 2024 Olympics medal table"},),
        answer="The United States topped the Paris 2024 medal table [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py in <json>",
    ),
    Case(
        name="json_tag_function_name_attr",
        outputs=(
            (
                "Let me check.\n"
                "<json>\n"
                '<function name="web_search">\n'
                '{"query": "IPCC AR7 timeline"}\n'
                "</function>"
            ),
            "</json>\nThe IPCC's seventh assessment cycle runs to 2029 [1].",
        ),
        calls=({"query": "IPCC AR7 timeline"},),
        answer="Let me check. The IPCC's seventh assessment cycle runs to 2029 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- <xml> -----------------------------------------------------------------------------------
    Case(
        name="xml_tag_object",
        outputs=(
            (
                "<xml>\n"
                "{\n"
                '  "name": "web_search",\n'
                '  "arguments": {\n'
                '    "query": "Deepwater Horizon total costs BP"\n'
                "  }\n"
                "}"
            ),
            "</xml>\nBP's total Deepwater Horizon costs exceeded $65 billion [1].",
        ),
        calls=({"query": "Deepwater Horizon total costs BP"},),
        answer="BP's total Deepwater Horizon costs exceeded $65 billion [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<xml> with the object "
            "over several lines)"
        ),
    ),
    Case(
        name="xml_tag_list",
        outputs=(
            (
                "Two lookups.\n"
                "<xml>\n"
                '[{"name": "web_search", "arguments": {"query": "English Wikipedia article count '
                '2025"}}, {"name": "web_search", "arguments": {"query": "German Wikipedia article '
                'count 2025"}}]\n'
                "</xml>"
            ),
            "English Wikipedia passed 7 million articles [1]; German has about 3 million [2].",
        ),
        calls=(
            {"query": "English Wikipedia article count 2025"},
            {"query": "German Wikipedia article count 2025"},
        ),
        answer=(
            "Two lookups. English Wikipedia passed 7 million articles [1]; German has about 3 "
            "million [2]."
        ),
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<xml>)",
    ),
    Case(
        name="xml_tag_function_json",
        outputs=(
            '<xml>\n<function=web_search>{"query": "Hubble one-gyro mode"}</function>',
            "</xml>\nHubble moved to one-gyro mode in June 2024 [1].",
        ),
        calls=({"query": "Hubble one-gyro mode"},),
        answer="Hubble moved to one-gyro mode in June 2024 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    Case(
        name="xml_tag_function_parameter",
        outputs=(
            (
                "<XML>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Grindavík eruption 2024\n"
                "</parameter>\n"
                "</function>\n"
                "</xml>"
            ),
            "The Sundhnúkur crater row near Grindavík erupted several times in 2024 [1].",
        ),
        calls=({"query": "Grindavík eruption 2024"},),
        answer="The Sundhnúkur crater row near Grindavík erupted several times in 2024 [1].",
        source="vLLM tests/entrypoints/openai/tool_parsers/test_qwen3xml_tool_parser.py in <xml>",
    ),
    Case(
        name="xml_tag_function_name_attr",
        outputs=(
            (
                "<xml>\n"
                '<function name="web_search">\n'
                '{"query": "CERN FCC feasibility study cost"}\n'
                "</function>"
            ),
            "</xml>\nThe feasibility study puts the FCC-ee at about 15 billion CHF [1].",
        ),
        calls=({"query": "CERN FCC feasibility study cost"},),
        answer="The feasibility study puts the FCC-ee at about 15 billion CHF [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- <TOOL_CALL> (not the exact lowercase tag) -----------------------------------------------
    Case(
        name="tool_call_upper_object",
        outputs=(
            (
                "<TOOL_CALL>\n"
                '{"name": "web_search", "arguments": {"query": "Rust Foundation security '
                'initiative 🦀"}}\n'
                "</TOOL_CALL>"
            ),
            "The Rust Foundation runs a Security Initiative funded by member grants [1].",
        ),
        calls=({"query": "Rust Foundation security initiative 🦀"},),
        answer="The Rust Foundation runs a Security Initiative funded by member grants [1].",
        source="Ollama tools/tools_test.go (qwen2.5 <tool_call> JSON), upper-cased tag",
    ),
    Case(
        name="tool_call_mixed_case_list",
        outputs=(
            (
                "Looking this up.\n"
                "<Tool_Call>\n"
                '[{"action": "web_search", "action_input": {"query": "Kraków coal heating ban"}}, '
                '{"action": "web_search", "action_input": {"query": "Kraków air quality 2024"}}]\n'
                "</TOOL_CALL>"
            ),
            (
                "Kraków banned coal and wood for home heating in 2019 [1], and its air has "
                "improved since [2]."
            ),
        ),
        calls=({"query": "Kraków coal heating ban"}, {"query": "Kraków air quality 2024"}),
        answer=(
            "Looking this up. Kraków banned coal and wood for home heating in 2019 [1], and its "
            "air has improved since [2]."
        ),
        source=(
            "Ollama tools/tools_test.go + this repo's seed format (action/action_input, "
            "tests/agent/test_loop.py), <Tool_Call> tag"
        ),
    ),
    Case(
        name="tool_call_upper_function_json",
        outputs=(
            (
                "<TOOL_CALL>\n"
                '<function=web_search>{"query": "Dune Part Two box office"}</function>\n'
                "</TOOL_CALL>"
            ),
            "Dune: Part Two grossed about $714 million worldwide [1].",
        ),
        calls=({"query": "Dune Part Two box office"},),
        answer="Dune: Part Two grossed about $714 million worldwide [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<function=...>) in "
            "<TOOL_CALL>"
        ),
    ),
    Case(
        name="tool_call_upper_function_parameter",
        outputs=(
            (
                "<TOOL_CALL>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Llama 3.1 405B license terms\n"
                "</parameter>\n"
                "</function>\n"
                "</TOOL_CALL>"
            ),
            "Llama 3.1 405B ships under the Llama 3.1 Community License [1].",
        ),
        calls=({"query": "Llama 3.1 405B license terms"},),
        answer="Llama 3.1 405B ships under the Llama 3.1 Community License [1].",
        source=(
            "vLLM tests/tool_use/test_qwen3coder_tool_parser.py (single_tool) with an upper-cased "
            "<TOOL_CALL>"
        ),
    ),
    Case(
        name="tool_call_upper_function_name_attr",
        outputs=(
            (
                "<Tool_call>\n"
                '<function name="web_search">\n'
                '{"query": "Panama Canal drought transits"}\n'
                "</function>\n"
                "</TOOL_CALL>"
            ),
            "Drought forced the Panama Canal to cap daily transits in 2023–24 [1].",
        ),
        calls=({"query": "Panama Canal drought transits"},),
        answer="Drought forced the Panama Canal to cap daily transits in 2023–24 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- ``` -------------------------------------------------------------------------------------
    Case(
        name="fence_plain_object",
        outputs=(
            '```\n{"name": "web_search", "arguments": {"query": "Tour de France 2025 winner"}}',
            "```\nTadej Pogačar won the 2025 Tour de France [1].",
        ),
        calls=({"query": "Tour de France 2025 winner"},),
        answer="Tadej Pogačar won the 2025 Tour de France [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (``` fence)",
    ),
    Case(
        name="fence_plain_list",
        outputs=(
            (
                "Checking both markets.\n"
                "```\n"
                '[{"name": "web_search", "arguments": {"query": "lithium carbonate price 2025"}}, '
                '{"name": "web_search", "arguments": {"query": "cobalt price 2025"}}]'
            ),
            (
                "```\n"
                "Lithium carbonate traded near $10,000/t in mid-2025 [1]; cobalt rebounded after "
                "Congo's export ban [2]."
            ),
        ),
        calls=({"query": "lithium carbonate price 2025"}, {"query": "cobalt price 2025"}),
        answer=(
            "Checking both markets. Lithium carbonate traded near $10,000/t in mid-2025 [1]; "
            "cobalt rebounded after Congo's export ban [2]."
        ),
        source="Ollama tools/tools_test.go (list) in a ``` fence",
    ),
    Case(
        name="fence_plain_function_json",
        outputs=(
            '```\n<function=web_search>{"query": "Baltic Sea cable damage 2024"}</function>\n```',
            "Two Baltic Sea data cables were cut in November 2024 [1].",
        ),
        calls=({"query": "Baltic Sea cable damage 2024"},),
        answer="Two Baltic Sea data cables were cut in November 2024 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    Case(
        name="fence_plain_function_parameter",
        outputs=(
            (
                "```\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "UK general election 2024 turnout\n"
                "</parameter>\n"
                "</function>"
            ),
            "```\nTurnout at the 2024 UK general election was about 60% [1].",
        ),
        calls=({"query": "UK general election 2024 turnout"},),
        answer="Turnout at the 2024 UK general election was about 60% [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py in a ``` fence",
    ),
    Case(
        name="fence_plain_function_name_attr",
        outputs=(
            (
                "Let me check the verdict.\n"
                "```\n"
                '<function name="web_search">\n'
                '{"query": "Sycamore Gap tree trial verdict"}\n'
                "</function>"
            ),
            "```\nTwo men were convicted of felling the Sycamore Gap tree in 2025 [1].",
        ),
        calls=({"query": "Sycamore Gap tree trial verdict"},),
        answer=(
            "Let me check the verdict. Two men were convicted of felling the Sycamore Gap tree in "
            "2025 [1]."
        ),
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- ```json ---------------------------------------------------------------------------------
    Case(
        name="fence_json_object",
        outputs=(
            (
                "Let me check.\n"
                "```json\n"
                '{"name": "web_search", "arguments": {"query": "Qwen3 release date"}}'
            ),
            "```\nQwen3 was released on 29 April 2025 [1].",
        ),
        calls=({"query": "Qwen3 release date"},),
        answer="Let me check. Qwen3 was released on 29 April 2025 [1].",
        source=(
            "vLLM issue #32926 / PR #33083 (Qwen2.5-Coder <tools> and ```json calls); kronk PR "
            "#950 (```json fenced call)"
        ),
    ),
    Case(
        name="fence_json_list",
        outputs=(
            (
                "```json\n"
                "[\n"
                '  {"name": "web_search", "arguments": {"query": "Svalbard temperature record '
                '2024"}},\n'
                '  {"name": "web_search", "arguments": {"query": "Longyearbyen avalanche risk"}}\n'
                "]"
            ),
            (
                "```\n"
                "Svalbard set a summer heat record in August 2024 [1]; Longyearbyen has avalanche "
                "warnings most winters [2]."
            ),
        ),
        calls=(
            {"query": "Svalbard temperature record 2024"},
            {"query": "Longyearbyen avalanche risk"},
        ),
        answer=(
            "Svalbard set a summer heat record in August 2024 [1]; Longyearbyen has avalanche "
            "warnings most winters [2]."
        ),
        source="Ollama tools/tools_test.go (command-r-plus ```json list)",
    ),
    Case(
        name="fence_json_function_json",
        outputs=(
            '```json\n<function=web_search>{"query": "Wikipedia blackout 2012 SOPA"}</function>',
            "```\nEnglish Wikipedia went dark on 18 January 2012 to protest SOPA [1].",
        ),
        calls=({"query": "Wikipedia blackout 2012 SOPA"},),
        answer="English Wikipedia went dark on 18 January 2012 to protest SOPA [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    Case(
        name="fence_json_function_parameter",
        outputs=(
            (
                "```json\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Thwaites glacier collapse timeline\n"
                "</parameter>\n"
                "</function>\n"
                "```"
            ),
            "Researchers expect Thwaites to keep retreating over the coming centuries [1].",
        ),
        calls=({"query": "Thwaites glacier collapse timeline"},),
        answer="Researchers expect Thwaites to keep retreating over the coming centuries [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py",
    ),
    Case(
        name="fence_json_function_name_attr",
        outputs=(
            (
                "```json\n"
                '<function name="web_search">\n'
                '{"query": "Bhutan Gross National Happiness index"}\n'
                "</function>"
            ),
            "```\nBhutan's 2022 GNH survey scored 0.781 [1].",
        ),
        calls=({"query": "Bhutan Gross National Happiness index"},),
        answer="Bhutan's 2022 GNH survey scored 0.781 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- ```xml ----------------------------------------------------------------------------------
    Case(
        name="fence_xml_object",
        outputs=(
            (
                "```xml\n"
                '{"name": "web_search", "parameters": {"query": "Ethiopia GERD dam completion"}}'
            ),
            "```\nEthiopia inaugurated the GERD in September 2025 [1].",
        ),
        calls=({"query": "Ethiopia GERD dam completion"},),
        answer="Ethiopia inaugurated the GERD in September 2025 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (```xml fence)",
    ),
    Case(
        name="fence_xml_list",
        outputs=(
            (
                "```xml\n"
                '[{"name": "web_search", "arguments": {"query": "Airbus A321XLR entry into '
                'service"}}, {"name": "web_search", "arguments": {"query": "A321XLR range"}}]\n'
                "```"
            ),
            (
                "The A321XLR entered service with Iberia in November 2024 [1] and flies about "
                "4,700 nmi [2]."
            ),
        ),
        calls=({"query": "Airbus A321XLR entry into service"}, {"query": "A321XLR range"}),
        answer=(
            "The A321XLR entered service with Iberia in November 2024 [1] and flies about 4,700 "
            "nmi [2]."
        ),
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (```xml)",
    ),
    Case(
        name="fence_xml_function_json",
        outputs=(
            (
                "Looking it up.\n"
                "```xml\n"
                '<function=web_search>{"query": "Ganges river dolphin population"}</function>'
            ),
            "```\nIndia's first survey counted about 6,300 Ganges river dolphins [1].",
        ),
        calls=({"query": "Ganges river dolphin population"},),
        answer="Looking it up. India's first survey counted about 6,300 Ganges river dolphins [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    Case(
        name="fence_xml_function_parameter",
        outputs=(
            (
                "```xml\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Neuralink first patient Noland Arbaugh\n"
                "</parameter>\n"
                "</function>"
            ),
            "```\nNoland Arbaugh received the first Neuralink implant in January 2024 [1].",
        ),
        calls=({"query": "Neuralink first patient Noland Arbaugh"},),
        answer="Noland Arbaugh received the first Neuralink implant in January 2024 [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py (Qwen3-Coder XML in ```xml)",
    ),
    Case(
        name="fence_xml_function_name_attr",
        outputs=(
            (
                "```xml\n"
                '<function name="web_search">\n'
                '{"query": "Istanbul canal project status"}\n'
                "</function>"
            ),
            "```\nKanal Istanbul remains largely on hold [1].",
        ),
        calls=({"query": "Istanbul canal project status"},),
        answer="Kanal Istanbul remains largely on hold [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (```xml)",
    ),
    # -- ```tool_call ----------------------------------------------------------------------------
    Case(
        name="fence_tool_call_object",
        outputs=(
            (
                "```tool_call\n"
                '{"name": "web_search", "arguments": {"query": "Galápagos tortoise population"}}'
            ),
            "```\nAbout 20,000 giant tortoises live on the Galápagos today [1].",
        ),
        calls=({"query": "Galápagos tortoise population"},),
        answer="About 20,000 giant tortoises live on the Galápagos today [1].",
        source=(
            "Qwen2.5-Coder habit of fencing calls (vLLM issue #32926) with a tool_call info string"
        ),
    ),
    Case(
        name="fence_tool_call_list",
        outputs=(
            (
                "Searching.\n"
                "```tool_call\n"
                '[{"action": "web_search", "action_input": {"query": "Hong Kong Kai Tak sports '
                'park opening"}}, {"action": "web_search", "action_input": {"query": "Kai Tak '
                'stadium capacity"}}]'
            ),
            "```\nKai Tak Sports Park opened in March 2025 [1]; its main stadium seats 50,000 [2].",
        ),
        calls=(
            {"query": "Hong Kong Kai Tak sports park opening"},
            {"query": "Kai Tak stadium capacity"},
        ),
        answer=(
            "Searching. Kai Tak Sports Park opened in March 2025 [1]; its main stadium seats "
            "50,000 [2]."
        ),
        source=(
            "vLLM issue #32926 (fenced calls); this repo's seed format (action/action_input, "
            "tests/agent/test_loop.py)"
        ),
    ),
    Case(
        name="fence_tool_call_function_json",
        outputs=(
            (
                "```tool_call\n"
                '<function=web_search>{"query": "Tuvalu Falepili treaty"}</function>\n'
                "```"
            ),
            "The Falepili Union lets Tuvaluans migrate to Australia under a yearly quota [1].",
        ),
        calls=({"query": "Tuvalu Falepili treaty"},),
        answer="The Falepili Union lets Tuvaluans migrate to Australia under a yearly quota [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    Case(
        name="fence_tool_call_function_parameter",
        outputs=(
            (
                "```tool_call\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Morocco 2023 earthquake death toll\n"
                "</parameter>\n"
                "</function>"
            ),
            "```\nThe September 2023 Al Haouz earthquake killed nearly 3,000 people [1].",
        ),
        calls=({"query": "Morocco 2023 earthquake death toll"},),
        answer="The September 2023 Al Haouz earthquake killed nearly 3,000 people [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py",
    ),
    Case(
        name="fence_tool_call_function_name_attr",
        outputs=(
            (
                "Let me verify.\n"
                "```tool_call\n"
                '<function name="web_search">\n'
                '{"query": "Amazon river drought 2024 record low"}\n'
                "</function>"
            ),
            "```\nThe Rio Negro at Manaus hit a record low of 12.11 m in October 2024 [1].",
        ),
        calls=({"query": "Amazon river drought 2024 record low"},),
        answer=(
            "Let me verify. The Rio Negro at Manaus hit a record low of 12.11 m in October 2024 "
            "[1]."
        ),
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)",
    ),
    # -- nested wrappers -------------------------------------------------------------------------
    Case(
        name="nested_fence_json_function_call",
        outputs=(
            (
                "```json\n"
                "\n"
                '                    <function_call> {"name": "web_search", "arguments": {"query": '
                '"Suez Canal Houthi attacks traffic"}} \n'
                "                    </function_call> \n"
                "``` "
            ),
            (
                "</function_call>\n"
                "```\n"
                "\n"
                "Suez Canal transits fell by more than half during the Red Sea attacks [1]."
            ),
        ),
        calls=({"query": "Suez Canal Houthi attacks traffic"},),
        answer="Suez Canal transits fell by more than half during the Red Sea attacks [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (```json + "
            "<function_call>, both closers repeated after the response)"
        ),
    ),
    Case(
        name="nested_fence_xml_response",
        outputs=(
            (
                "I'll search.\n"
                "```xml\n"
                "<response>\n"
                '    {"name": "web_search", "arguments": {"query": "Danish straits bridge '
                'Fehmarnbelt opening"}}\n'
                "</response>\n"
                "```"
            ),
            "</response>\nThe Fehmarnbelt tunnel is now expected to open in 2031 [1].",
        ),
        calls=({"query": "Danish straits bridge Fehmarnbelt opening"},),
        answer="I'll search. The Fehmarnbelt tunnel is now expected to open in 2031 [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (```xml + <response>)",
    ),
    Case(
        name="nested_fence_xml_tools_function_parameter",
        outputs=(
            (
                "```xml\n"
                "<tools>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Singapore water NEWater share\n"
                "</parameter>\n"
                "</function>\n"
                "</tools>\n"
                "```"
            ),
            "```\nNEWater can meet up to 40% of Singapore's water demand [1].",
        ),
        calls=({"query": "Singapore water NEWater share"},),
        answer="NEWater can meet up to 40% of Singapore's water demand [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py inside ```xml + <tools>",
    ),
    Case(
        name="nested_tools_json_tags",
        outputs=(
            (
                "<tools>\n"
                "<json>\n"
                '{"name": "web_search", "arguments": {"query": "Mount Everest height 2020 '
                'survey"}}\n'
                "</json>\n"
                "</tools>"
            ),
            "</json>\nThe 2020 China–Nepal survey set Everest at 8,848.86 m [1].",
        ),
        calls=({"query": "Mount Everest height 2020 survey"},),
        answer="The 2020 China–Nepal survey set Everest at 8,848.86 m [1].",
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (<tools>, <json>)",
    ),
    # -- the exact <tool_call> tag: generation stops at the tag, the grammar writes the call -----
    Case(
        name="tag_after_text",
        outputs=(
            (
                "Let me check the weather. <tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "Tokyo weather forecast this '
                'week"}}\n'
                "</tool_call>"
            ),
            "Tokyo expects rain midweek with highs around 18 °C [1].",
        ),
        calls=({"query": "Tokyo weather forecast this week"},),
        answer="Let me check the weather. Tokyo expects rain midweek with highs around 18 °C [1].",
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) "
            "(test_normal_text_before_tool_call)"
        ),
    ),
    Case(
        name="tag_qwen3_coder_native",
        outputs=(
            (
                "<tool_call>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "Dallas TX weather\n"
                "</parameter>\n"
                "</function>\n"
                "</tool_call>"
            ),
            "Dallas is sunny and 31 °C today [1].",
        ),
        calls=({"query": "Dallas TX weather"},),
        answer="Dallas is sunny and 31 °C today [1].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py (single_tool)",
    ),
    Case(
        name="tag_two_blocks_in_a_row",
        outputs=(
            (
                "<tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "Beijing air quality today"}}\n'
                "</tool_call>"
            ),
            (
                "<tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "restaurants near Tiananmen"}}\n'
                "</tool_call>"
            ),
            (
                "Beijing's AQI is moderate today [1], and there are several well-rated restaurants "
                "nearby [2]."
            ),
        ),
        calls=({"query": "Beijing air quality today"}, {"query": "restaurants near Tiananmen"}),
        answer=(
            "Beijing's AQI is moderate today [1], and there are several well-rated restaurants "
            "nearby [2]."
        ),
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) "
            "(test_parallel_tool_calls); llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 "
            "parse) (multiple calls)"
        ),
    ),
    Case(
        name="tag_second_block_after_stray_closer",
        outputs=(
            (
                "I'll check both cities.\n"
                "<tool_call>\n"
                '{"arguments": {"query": "Dallas weather"}, "name": "web_search"}\n'
                "</tool_call>"
            ),
            (
                "</tool_call>\n"
                "<tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "Orlando weather"}}\n'
                "</tool_call>"
            ),
            "</tool_call>\nDallas is 31 °C [1] and Orlando 29 °C with storms [2].",
        ),
        calls=({"query": "Dallas weather"}, {"query": "Orlando weather"}),
        answer="I'll check both cities. Dallas is 31 °C [1] and Orlando 29 °C with storms [2].",
        source="vLLM tests/tool_use/test_qwen3coder_tool_parser.py (parallel_tools)",
    ),
    Case(
        name="tag_with_list_body",
        outputs=(
            (
                '<tool_call> [{"name": "web_search", "arguments": {"query": "San Francisco '
                'weather"}}, {"name": "web_search", "arguments": {"query": "Toronto weather"}}] '
                "</tool_call>"
            ),
            "San Francisco is 18 °C and foggy [1].",
        ),
        calls=({"query": "San Francisco weather"},),
        answer="San Francisco is 18 °C and foggy [1].",
        source=(
            "Ollama tools/tools_test.go (qwen2.5 tool calls with prefix); the grammar writes one "
            "call per tag"
        ),
    ),
    Case(
        name="tag_after_fence",
        outputs=(
            (
                "I'll verify that.\n"
                "```xml\n"
                "<tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "Ariane 6 first launch date"}}\n'
                "</tool_call>\n"
                "```"
            ),
            "```\nAriane 6 first flew on 9 July 2024 [1].",
        ),
        calls=({"query": "Ariane 6 first launch date"},),
        answer="I'll verify that. Ariane 6 first flew on 9 July 2024 [1].",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) "
            "(```json\\n<function_call> partial): a fence before the tag"
        ),
    ),
    Case(
        name="tag_chinese_query",
        outputs=(
            (
                "好的，我来查一下。\n"
                "<tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "5MW燃气轮机设计参数 空气流量 '
                '压气机压比 转速"}}\n'
                "</tool_call>"
            ),
            "5MW级燃气轮机的压比通常在12到16之间，空气流量约为20 kg/s [1]。完成 ✅",
        ),
        calls=({"query": "5MW燃气轮机设计参数 空气流量 压气机压比 转速"},),
        answer=(
            "好的，我来查一下。 5MW级燃气轮机的压比通常在12到16之间，空气流量约为20 kg/s [1]。完成 "
            "✅"
        ),
        source=(
            "vLLM tests/entrypoints/openai/tool_parsers/test_hermes_tool_parser.py (QwQ-32B "
            "internet_search call); Ollama model/parsers/qwen3coder_test.go (emoji after tool call)"
        ),
    ),
    Case(
        name="bare_then_tagged",
        outputs=(
            '{"name": "web_search", "arguments": {"query": "Reykjavik weather"}}',
            (
                ' <tool_call>{"name": "web_search", "arguments": {"query": "Reykjavik northern '
                'lights forecast"}}</tool_call>'
            ),
            "Reykjavik is 4 °C and clear [1], with a good aurora forecast tonight [2].",
        ),
        calls=({"query": "Reykjavik weather"}, {"query": "Reykjavik northern lights forecast"}),
        answer="Reykjavik is 4 °C and clear [1], with a good aurora forecast tonight [2].",
        source="Ollama tools/tools_test.go (qwen2.5 multiple tool calls with and without prefix)",
    ),
    Case(
        name="bare_then_text_then_tagged",
        outputs=(
            '{"name": "web_search", "arguments": {"query": "Antarctica tourism numbers 2023"}}',
            (
                "That covers 2023 [1]. Now the 2024 season:\n"
                '<tool_call>{"name": "web_search", "arguments": {"query": "Antarctica tourism '
                'numbers 2024"}}</tool_call> some tokens after call'
            ),
            "About 120,000 people visited in 2023–24 [2].",
        ),
        calls=(
            {"query": "Antarctica tourism numbers 2023"},
            {"query": "Antarctica tourism numbers 2024"},
        ),
        answer=(
            "That covers 2023 [1]. Now the 2024 season: About 120,000 people visited in 2023–24 "
            "[2]."
        ),
        source=(
            "Ollama tools/tools_test.go (qwen2.5 tool calls without and with prefix and text "
            "between)"
        ),
    ),
    # -- several searches with different shapes --------------------------------------------------
    Case(
        name="three_calls_mixed_shapes",
        outputs=(
            (
                "I'll compare three sources.\n"
                "```json\n"
                '{"name": "web_search", "arguments": {"query": "global EV sales 2024"}}\n'
                "```"
            ),
            (
                "```\n"
                "The IEA counts about 17 million EVs sold in 2024 [1]. Let me cross-check.\n"
                "<tool_call>"
            ),
            (
                "BNEF gives a similar figure [2]. One more:\n"
                "<tools>\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "China EV share of new car sales 2024\n"
                "</parameter>\n"
                "</function>\n"
                "</tools>"
            ),
            (
                "</tools>\n"
                "About 17 million EVs were sold worldwide in 2024 [1][2], nearly half of new cars "
                "in China [3]."
            ),
        ),
        calls=(
            {"query": "global EV sales 2024"},
            {"query": "BNEF EV sales 2024"},
            {"query": "China EV share of new car sales 2024"},
        ),
        answer=(
            "I'll compare three sources. The IEA counts about 17 million EVs sold in 2024 [1]. Let "
            "me cross-check. BNEF gives a similar figure [2]. One more: About 17 million EVs were "
            "sold worldwide in 2024 [1][2], nearly half of new cars in China [3]."
        ),
        source=(
            "vLLM tests/tool_use/test_qwen3coder_tool_parser.py; Ollama tools/tools_test.go; "
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse)"
        ),
    ),
    Case(
        name="two_calls_quotes_and_escapes",
        outputs=(
            (
                "Searching for the exact title.\n"
                '{"name": "web_search", "arguments": {"query": "\\"Attention Is All You Need\\" '
                'citation count"}}'
            ),
            (
                "It has well over 100,000 citations [1]. And the authors' later work:\n"
                "```json\n"
                '{"name": "web_search", "arguments": {"query": "Vaswani \\"Essential AI\\" '
                'caf\\u00e9 startup"}}\n'
                "```"
            ),
            "```\nAshish Vaswani co-founded Essential AI [2].",
        ),
        calls=(
            {"query": '"Attention Is All You Need" citation count'},
            {"query": 'Vaswani "Essential AI" café startup'},
        ),
        answer=(
            "Searching for the exact title. It has well over 100,000 citations [1]. And the "
            "authors' later work: Ashish Vaswani co-founded Essential AI [2]."
        ),
        source=(
            "vLLM tests/entrypoints/openai/tool_parsers/test_qwen3xml_tool_parser.py "
            "(test_string_double_quotes) as JSON escapes"
        ),
    ),
    Case(
        name="parameter_value_raw_quotes_and_backslash",
        outputs=(
            (
                "<function=web_search>\n"
                "<parameter=query>\n"
                'regex \\d+ "digits" meaning\n'
                "</parameter>\n"
                "</function>"
            ),
            "</function>\nIn most regex flavours \\d+ matches one or more digits [1].",
        ),
        calls=({"query": 'regex \\d+ "digits" meaning'},),
        answer="In most regex flavours \\d+ matches one or more digits [1].",
        source=(
            "vLLM tests/entrypoints/openai/tool_parsers/test_qwen3xml_tool_parser.py "
            "(test_string_backslash / double quotes): values are raw text"
        ),
    ),
    Case(
        name="unicode_arabic_query_in_tools",
        outputs=(
            (
                "<tools>\n"
                '{"name": "web_search", "arguments": {"query": "مهرجان القاهرة السينمائي 2024"}}\n'
                "</tools>"
            ),
            "</tools>\nأُقيمت الدورة 45 من مهرجان القاهرة السينمائي في نوفمبر 2024 [1].",
        ),
        calls=({"query": "مهرجان القاهرة السينمائي 2024"},),
        answer="أُقيمت الدورة 45 من مهرجان القاهرة السينمائي في نوفمبر 2024 [1].",
        source="Ollama model/parsers/qwen3coder_test.go (unicode / arabic text handling)",
    ),
    Case(
        name="unicode_japanese_query_fenced",
        outputs=(
            (
                "```json\n"
                '{"action": "web_search", "action_input": {"query": "東京 桜 開花 2025"}}\n'
                "```"
            ),
            "```\n2025年の東京の桜の開花は3月24日でした [1]。",
        ),
        calls=({"query": "東京 桜 開花 2025"},),
        answer="2025年の東京の桜の開花は3月24日でした [1]。",
        source=(
            "vLLM tests/entrypoints/openai/tool_parsers/test_qwen3xml_tool_parser.py "
            "(test_string_unicode)"
        ),
    ),
    # -- an invalid body after web_search was named: the call is re-sampled under the grammar ----
    Case(
        name="invalid_missing_value_resampled",
        outputs=(
            'Let me check the date.\n{"name": "web_search", "arguments": {"query": }',
            "The next total solar eclipse in Europe is on 12 August 2026 [1].",
        ),
        calls=({"query": "next total solar eclipse Europe"},),
        answer=(
            "Let me check the date. The next total solar eclipse in Europe is on 12 August 2026 "
            "[1]."
        ),
        source="Ollama tools/tools_test.go (incomplete JSON) once the name is known",
    ),
    Case(
        name="invalid_missing_query_resampled",
        outputs=(
            '```json\n{"name": "web_search", "arguments": {"q": "Tesla Q3 2025 deliveries"}}\n```',
            "```\nTesla delivered about 497,000 vehicles in Q3 2025 [1].",
        ),
        calls=({"query": "Tesla Q3 2025 deliveries"},),
        answer="Tesla delivered about 497,000 vehicles in Q3 2025 [1].",
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) "
            "(test_malformed_json_is_skipped), re-sampled instead of skipped"
        ),
    ),
    Case(
        name="invalid_missing_comma_resampled",
        outputs=(
            (
                "<tools>\n"
                '{"name": "web_search" "arguments": {"query": "Danube floods September 2024"}}\n'
                "</tools>"
            ),
            "</tools>\nThe September 2024 floods hit Austria, Czechia, Poland and Romania [1].",
        ),
        calls=({"query": "Danube floods September 2024"},),
        answer="The September 2024 floods hit Austria, Czechia, Poland and Romania [1].",
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) (malformed JSON in a "
            "call block)"
        ),
    ),
    # -- reasoning models: the output starts inside <think> --------------------------------------
    Case(
        name="think_tag_call_in_thinking",
        outputs=(
            (
                "Okay, the user wants to know who is on the ISS right now. Crews rotate every few "
                "months, so I should search rather than guess.\n"
                "<tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "current ISS crew members"}}\n'
                "</tool_call>"
            ),
            (
                "The results list the Expedition 73 crew. That answers it.\n"
                "</think>\n"
                "\n"
                "The ISS is currently crewed by Expedition 73 [1]."
            ),
        ),
        calls=({"query": "current ISS crew members"},),
        answer="The ISS is currently crewed by Expedition 73 [1].",
        think=True,
        source=(
            "llama.cpp tests/test-chat.cpp (QwQ-32B: thinking forced open, call after </think>); "
            "Ollama tools/tools_test.go (qwen3 think prefix + tool prefix)"
        ),
    ),
    Case(
        name="think_bare_action_in_thinking",
        outputs=(
            (
                "Hmm, the user asks about the latest Debian release. I recall Debian 12, but 13 "
                "may be out. Let me search.\n"
                '{"action": "web_search", "action_input": {"query": "Debian 13 trixie release '
                'date"}}'
            ),
            (
                'So Debian 13 "trixie" was released in August 2025.\n'
                "</think>\n"
                "\n"
                'Debian 13 "trixie" was released on 9 August 2025 [1].'
            ),
        ),
        calls=({"query": "Debian 13 trixie release date"},),
        answer='Debian 13 "trixie" was released on 9 August 2025 [1].',
        think=True,
        source="this repo's seed format (action/action_input, tests/agent/test_loop.py)",
    ),
    Case(
        name="think_two_calls_in_thinking",
        outputs=(
            (
                "We need both the 2023 and 2024 figures. First 2023:\n"
                "```json\n"
                '{"name": "web_search", "arguments": {"query": "Germany solar capacity added '
                '2023"}}\n'
                "```"
            ),
            "```\nGot 2023 (about 15 GW). Now 2024:\n<tool_call>",
            (
                "</tool_call>\n"
                "About 16 GW in 2024. Enough to answer.\n"
                "</think>\n"
                "\n"
                "Germany added about 15 GW of solar in 2023 [1] and about 16 GW in 2024 [2]."
            ),
        ),
        calls=(
            {"query": "Germany solar capacity added 2023"},
            {"query": "Germany solar capacity added 2024"},
        ),
        answer="Germany added about 15 GW of solar in 2023 [1] and about 16 GW in 2024 [2].",
        think=True,
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (```json fence); SGLang "
            "test/srt/test_function_call_parser.py (Qwen25Detector)"
        ),
    ),
    Case(
        name="think_chinese_call_in_thinking",
        outputs=(
            (
                "好的，用户要研发一个5MW的燃气轮机，需要确定总体参数。可能需要调用互联网搜索"
                "来确认这些参数的典型值。\n"
                "<tool_call>\n"
                '{"name": "web_search", "arguments": {"query": "5MW燃气轮机 设计参数 压比 '
                '涡轮前温度"}}\n'
                "</tool_call>\n"
                "\n"
                " "
            ),
            (
                "搜索结果给出了典型参数，可以回答了。\n"
                "</think>\n"
                "\n"
                "5MW级燃气轮机的压比通常在12到16之间，涡轮前温度约1400–1500 K [1]。"
            ),
        ),
        calls=({"query": "5MW燃气轮机 设计参数 压比 涡轮前温度"},),
        answer="5MW级燃气轮机的压比通常在12到16之间，涡轮前温度约1400–1500 K [1]。",
        think=True,
        source=(
            "vLLM tests/entrypoints/openai/tool_parsers/test_hermes_tool_parser.py (QwQ-32B "
            "reasoning in Chinese, call moved into the thinking)"
        ),
    ),
    Case(
        name="think_function_parameter_in_thinking",
        outputs=(
            (
                "The user wants the current Rust stable version. I'm not sure whether 1.90 is out "
                "yet.\n"
                "<function=web_search>\n"
                "<parameter=query>\n"
                "latest Rust stable release version\n"
                "</parameter>\n"
                "</function>"
            ),
            (
                "</function>\n"
                "The search says the latest stable release is listed on the release page.\n"
                "</think>\n"
                "\n"
                "The Rust release page lists the current stable version [1]."
            ),
        ),
        calls=({"query": "latest Rust stable release version"},),
        answer="The Rust release page lists the current stable version [1].",
        think=True,
        source=(
            "vLLM tests/tool_use/test_qwen3coder_tool_parser.py (Qwen3 XML call written while "
            "thinking)"
        ),
    ),
    Case(
        name="think_list_in_thinking",
        outputs=(
            (
                "Two facts to check: the height of K2 and of Kangchenjunga.\n"
                '[{"name": "web_search", "arguments": {"query": "K2 height metres"}}, {"name": '
                '"web_search", "arguments": {"query": "Kangchenjunga height metres"}}]'
            ),
            (
                "K2 is 8,611 m and Kangchenjunga 8,586 m.\n"
                "</think>\n"
                "\n"
                "K2 is 8,611 m [1] and Kangchenjunga 8,586 m [2], so K2 is higher."
            ),
        ),
        calls=({"query": "K2 height metres"}, {"query": "Kangchenjunga height metres"}),
        answer="K2 is 8,611 m [1] and Kangchenjunga 8,586 m [2], so K2 is higher.",
        think=True,
        source="Ollama tools/tools_test.go (qwen2.5 list of calls)",
    ),
    Case(
        name="think_invalid_call_in_thinking_resampled",
        outputs=(
            (
                "I should look up the exchange rate.\n"
                '{"action": "web_search", "action_input": {"query": ""}}'
            ),
            (
                "The rate is about 1.08 dollars per euro.\n"
                "</think>\n"
                "\n"
                "One euro buys about 1.08 US dollars today [1]."
            ),
        ),
        calls=({"query": "EUR USD exchange rate today"},),
        answer="One euro buys about 1.08 US dollars today [1].",
        think=True,
        source=(
            "this repo's seed format (action/action_input, tests/agent/test_loop.py) (empty query "
            "is a call attempt)"
        ),
    ),
    Case(
        name="think_fenced_xml_call_in_thinking",
        outputs=(
            (
                "Let me verify the claim about octopus hearts.\n"
                "```xml\n"
                "<function_call>\n"
                "{\n"
                '    "action": "web_search",\n'
                '    "action_input": {\n'
                '        "query": "how many hearts does an octopus have"\n'
                "    }\n"
                "}\n"
                "</function_call>\n"
                "```"
            ),
            "```\nThree hearts, confirmed.\n</think>\n\nAn octopus has three hearts [1].",
        ),
        calls=({"query": "how many hearts does an octopus have"},),
        answer="An octopus has three hearts [1].",
        think=True,
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (```xml wrappers) while "
            "thinking"
        ),
    ),
    Case(
        name="think_no_call",
        outputs=(
            (
                "The user asks for the boiling point of water at sea level. That's 100 °C; no "
                "search needed.\n"
                "</think>\n"
                "\n"
                "Water boils at 100 °C (212 °F) at sea level."
            ),
        ),
        answer="Water boils at 100 °C (212 °F) at sea level.",
        think=True,
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) "
            "(<think>I'm\\nthinking</think>Hello, world!)"
        ),
    ),
    Case(
        name="think_empty_thinking",
        outputs=("\n\n</think>\n\nParis is the capital of France.",),
        answer="Paris is the capital of France.",
        think=True,
        source="Ollama tools/tools_test.go (qwen3 empty think prefix)",
    ),
    Case(
        name="think_tag_prefix_cut_by_think_end",
        outputs=("12 times 12 is 144; I don't need to search. <tool_ca</think>\n\n12 × 12 = 144.",),
        answer="12 × 12 = 144.",
        think=True,
        source=(
            "Ollama tools/tools_test.go (qwen3 partial tool prefix); Ollama "
            "model/parsers/qwen3coder_test.go (partial tool open tag fakeout)"
        ),
    ),
    Case(
        name="think_unknown_tool_json_in_thinking",
        outputs=(
            (
                'I can\'t call get_weather here; something like {"name": "get_weather", '
                '"arguments": {"city": "Oslo"}} is not available to me. I\'ll answer from general '
                "knowledge.\n"
                "</think>\n"
                "\n"
                "Oslo is cold in January, usually a few degrees below freezing."
            ),
        ),
        answer="Oslo is cold in January, usually a few degrees below freezing.",
        think=True,
        source="Ollama tools/tools_test.go (unknown tool names are content)",
    ),
    Case(
        name="think_answer_with_code",
        outputs=(
            (
                "Simple coding question, no search needed.\n"
                "</think>\n"
                "\n"
                "Use a dict comprehension:\n"
                "\n"
                "```python\n"
                "squares = {n: n * n for n in range(5)}\n"
                "```"
            ),
        ),
        answer="Use a dict comprehension: ```python squares = {n: n * n for n in range(5)} ```",
        think=True,
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (thoughts then a fenced "
            "answer)"
        ),
    ),
    # -- not calls: the text is the answer -------------------------------------------------------
    Case(
        name="plain_answer",
        outputs=("The weather in San Francisco, CA is 70°F and in Toronto, Canada is 20°C.",),
        answer="The weather in San Francisco, CA is 70°F and in Toronto, Canada is 20°C.",
        source="Ollama tools/tools_test.go (qwen2.5 plain text response no tool calls)",
    ),
    Case(
        name="prose_mentions_the_tool",
        outputs=("No web_search is needed for this one: 2 + 2 = 4.",),
        answer="No web_search is needed for this one: 2 + 2 = 4.",
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) "
            "(test_has_tool_call_false_plain_text)"
        ),
    ),
    Case(
        name="unknown_tool_bare",
        outputs=('{"name": "get_weather", "arguments": {"city": "Paris"}}',),
        answer='{"name": "get_weather", "arguments": {"city": "Paris"}}',
        source="Ollama tools/tools_test.go (calls to tools we don't have)",
    ),
    Case(
        name="unknown_tool_in_fence",
        outputs=(
            (
                "Here is the request body for your own API:\n"
                "```json\n"
                '{"name": "get_current_weather", "arguments": {"format": "celsius", "location": '
                '"Toronto, Canada"}}\n'
                "```"
            ),
        ),
        answer=(
            'Here is the request body for your own API: ```json {"name": "get_current_weather", '
            '"arguments": {"format": "celsius", "location": "Toronto, Canada"}} ```'
        ),
        source="Ollama tools/tools_test.go (get_current_weather, not our tool)",
    ),
    Case(
        name="unknown_tool_in_tools_tag",
        outputs=(
            '<tools>\n{"name": "get_stock_price", "arguments": {"ticker": "NVDA"}}\n</tools>',
        ),
        answer='<tools> {"name": "get_stock_price", "arguments": {"ticker": "NVDA"}} </tools>',
        source=(
            "vLLM issue #32926 / PR #33083 (Qwen2.5-Coder <tools> and ```json calls) (unknown tool "
            "name)"
        ),
    ),
    Case(
        name="unknown_tool_in_upper_tag",
        outputs=('<TOOL_CALL>\n{"name": "get_time", "arguments": {"tz": "UTC"}}\n</TOOL_CALL>',),
        answer='<TOOL_CALL> {"name": "get_time", "arguments": {"tz": "UTC"}} </TOOL_CALL>',
        source="llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (unknown tool)",
    ),
    Case(
        name="unknown_tool_list",
        outputs=(
            (
                '[{"name": "get_current_weather", "arguments": {"format": "fahrenheit", '
                '"location": "San Francisco, CA"}}, {"name": "get_current_weather", "arguments": '
                '{"format": "celsius", "location": "Toronto, Canada"}}]'
            ),
        ),
        answer=(
            '[{"name": "get_current_weather", "arguments": {"format": "fahrenheit", "location": '
            '"San Francisco, CA"}}, {"name": "get_current_weather", "arguments": {"format": '
            '"celsius", "location": "Toronto, Canada"}}]'
        ),
        source="Ollama tools/tools_test.go (mistral list, unknown tool)",
    ),
    Case(
        name="options_list",
        outputs=('hi [{"options": "foo"}]',),
        answer='hi [{"options": "foo"}]',
        source="Ollama tools/tools_test.go (qwen2.5 invalid tool call with other tokens)",
    ),
    Case(
        name="object_followed_by_object",
        outputs=('{"name": "jeff"}{"name": "web_search", "arguments": {"query": "x"}}',),
        answer='{"name": "jeff"}{"name": "web_search", "arguments": {"query": "x"}}',
        source="Ollama tool-parser behaviour: an object glued to another object is content",
    ),
    Case(
        name="tool_calling_tag",
        outputs=(
            (
                "Some agent frameworks print <tool_calling> before a call, but nothing here needs "
                "a search: light takes about 8 minutes 20 seconds to reach Earth."
            ),
        ),
        answer=(
            "Some agent frameworks print <tool_calling> before a call, but nothing here needs a "
            "search: light takes about 8 minutes 20 seconds to reach Earth."
        ),
        source=(
            "vLLM tests/entrypoints/openai/tool_parsers/test_qwen3xml_tool_parser.py (tags that "
            "look like structural tags but aren't)"
        ),
    ),
    Case(
        name="tool_call_tag_fakeout",
        outputs=("abc\n<tool_call fakeout",),
        answer="abc <tool_call fakeout",
        source="Ollama model/parsers/qwen3coder_test.go (partial tool open tag fakeout)",
    ),
    Case(
        name="partial_tag_prefix_fakeout",
        outputs=(
            (
                '<tool_c fakeout {"name": "get_current_weather", "arguments": {"format": '
                '"fahrenheit", "location": "San Francisco, CA"}}'
            ),
        ),
        answer=(
            '<tool_c fakeout {"name": "get_current_weather", "arguments": {"format": "fahrenheit", '
            '"location": "San Francisco, CA"}}'
        ),
        source="Ollama tools/tools_test.go (qwen3 invalid tool call with partial tool prefix)",
    ),
    Case(
        name="python_code_with_braces",
        outputs=(
            (
                "You can keep the settings in a dict:\n"
                "\n"
                "```python\n"
                'config = {"model": "qwen2.5", "temperature": 0.7}\n'
                'print(config["model"])\n'
                "```"
            ),
        ),
        answer=(
            'You can keep the settings in a dict: ```python config = {"model": "qwen2.5", '
            '"temperature": 0.7} print(config["model"]) ```'
        ),
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) (no tool call in "
            "ordinary text)"
        ),
    ),
    Case(
        name="javascript_object_literal",
        outputs=(
            (
                "In JavaScript:\n"
                "\n"
                "```js\n"
                "const opts = { retries: 3, timeout: 5000 };\n"
                'fetch(url, { method: "POST", body: JSON.stringify(opts) });\n'
                "```"
            ),
        ),
        answer=(
            "In JavaScript: ```js const opts = { retries: 3, timeout: 5000 }; fetch(url, { method: "
            '"POST", body: JSON.stringify(opts) }); ```'
        ),
        source="SGLang test/srt/test_function_call_parser.py (Qwen25Detector) (braces in code)",
    ),
    Case(
        name="package_json_example",
        outputs=(
            (
                "A minimal package.json:\n"
                "\n"
                "```json\n"
                "{\n"
                '  "name": "my-app",\n'
                '  "version": "1.0.0",\n'
                '  "scripts": {"test": "vitest"}\n'
                "}\n"
                "```"
            ),
        ),
        answer=(
            'A minimal package.json: ```json { "name": "my-app", "version": "1.0.0", "scripts": '
            '{"test": "vitest"} } ```'
        ),
        source="Ollama tools/tools_test.go (a JSON object whose name is not a tool)",
    ),
    Case(
        name="nested_user_object",
        outputs=(
            (
                '{ "user": {"id": 12345, "name": "Alice", "preferences": {"theme": "dark", '
                '"notifications": true}, "stats": {"points": 987, "level": 42}}}'
            ),
        ),
        answer=(
            '{ "user": {"id": 12345, "name": "Alice", "preferences": {"theme": "dark", '
            '"notifications": true}, "stats": {"points": 987, "level": 42}}}'
        ),
        source="Ollama tools/tools_test.go (model flushes tokens if tool call doesn't match)",
    ),
    Case(
        name="data_object_name_not_first_key",
        outputs=(
            'Row 3 of the log is {"id": 3, "name": "web_search", "calls": 12}, the busiest tool.',
        ),
        answer=(
            'Row 3 of the log is {"id": 3, "name": "web_search", "calls": 12}, the busiest tool.'
        ),
        source="Ollama tools/tools_test.go (objects that are data, not calls)",
    ),
    Case(
        name="query_only_object",
        outputs=('The request payload was {"query": "latest iPhone"} and nothing else.',),
        answer='The request payload was {"query": "latest iPhone"} and nothing else.',
        source="Ollama tools/tools_test.go (missing required fields)",
    ),
    Case(
        name="final_answer_action",
        outputs=(
            '{"action": "Final Answer", "action_input": "Canberra is the capital of Australia."}',
        ),
        answer=(
            '{"action": "Final Answer", "action_input": "Canberra is the capital of Australia."}'
        ),
        source=(
            "this repo's seed format (action/action_input, tests/agent/test_loop.py) "
            "(LangChain-style final answer is not a search)"
        ),
    ),
    Case(
        name="longer_tool_name",
        outputs=('{"name": "web_search_images", "arguments": {"query": "aurora borealis"}}',),
        answer='{"name": "web_search_images", "arguments": {"query": "aurora borealis"}}',
        source="Ollama tools/tools_test.go (names must match exactly)",
    ),
    Case(
        name="call_cut_off_before_name_complete",
        outputs=('I will search for it.\n{"name": "web_se',),
        answer='I will search for it. {"name": "web_se',
        source="Ollama tools/tools_test.go (incomplete JSON at end of generation)",
    ),
    Case(
        name="latex_braces",
        outputs=("The quadratic formula is $x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$.",),
        answer="The quadratic formula is $x = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$.",
        source=(
            "SGLang test/srt/test_function_call_parser.py (Qwen25Detector) (braces that are not "
            "JSON)"
        ),
    ),
    Case(
        name="unicode_answer_no_call",
        outputs=("你好 🌍 مرحبا بالعالم — 完成 ✅",),
        answer="你好 🌍 مرحبا بالعالم — 完成 ✅",
        source="Ollama model/parsers/qwen3coder_test.go (unicode content, emoji passthrough)",
    ),
    Case(
        name="dangling_fence_dropped",
        outputs=("See the config below:\n```json\n",),
        answer="See the config below:",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) (partial ```json at the "
            "end)"
        ),
    ),
    Case(
        name="dangling_tools_tag_dropped",
        outputs=("Here are the results.\n<tools>\n",),
        answer="Here are the results.",
        source=(
            "vLLM issue #32926 / PR #33083 (Qwen2.5-Coder <tools> and ```json calls) (opener with "
            "nothing after it)"
        ),
    ),
    Case(
        name="unclosed_python_fence_closed",
        outputs=("Here's a snippet:\n```python\nprint(sum(range(10)))\n",),
        answer="Here's a snippet: ```python print(sum(range(10))) ```",
        source=(
            "llama.cpp tests/test-chat.cpp (Hermes 2 Pro / Qwen2.5 parse) "
            "(message_assist_thoughts_unparsed_md)"
        ),
    ),
    Case(
        name="unclosed_fence_unknown_tool_closed",
        outputs=(
            (
                "For your weather plugin:\n"
                "```json\n"
                '{"name": "get_weather", "arguments": {"city": "Lima"}}\n'
            ),
        ),
        answer=(
            'For your weather plugin: ```json {"name": "get_weather", "arguments": {"city": '
            '"Lima"}} ```'
        ),
        source="Ollama tools/tools_test.go (unknown tool) in an unclosed fence",
    ),
)
