"""A hand-written paraphrase set for the bench's search-by-meaning measures: 40 short passages
in real English on varied topics (a local LLM runtime, GPUs, file formats, networking,
cooking, cycling, gardening, everyday things), and 30 questions, each asked in other words
than the passage that answers it.

23 questions are keyword-free: after FTS5's tokenizer and Porter stemmer, and with the
library's stopwords dropped, they share no word with their passage (its title included),
so bm25 cannot rank the answer at all and only meaning can find it. The other 7 share
exactly one word. The questions were written before any ranking was run and are not tuned
to the results; ``tests/bench/test_meaning_bench.py`` checks the labels lexically. A
third of the passages answer no question: they are near neighbours of the answers (two more
on GPUs, two on LLM replies, rice beside pasta, brakes beside chains), there to be confused
with them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    key: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    text: str
    answer: str  # the key of the passage that answers it
    keyword_free: bool  # shares no content word with that passage (else exactly one)


PASSAGES = [
    Passage("gpu-offload", "GPU offloading",
            "When llama.cpp is built with CUDA, layers of the network can be placed in video "
            "memory with n_gpu_layers. Each offloaded layer then runs on the graphics processor "
            "instead of the CPU, which makes token generation several times faster. Layers that "
            "do not fit stay in system RAM."),
    Passage("parallel-calls", "Parallel tool calls",
            "The model may return more than one function invocation in a single reply. The "
            "runtime executes them concurrently and feeds every result back before the next "
            "turn, which saves a round trip per request."),
    Passage("quantization", "Quantized weights",
            "Storing each weight in four bits instead of sixteen cuts a model file to roughly a "
            "quarter of its size. The loss in answer quality is small for most tasks, and the "
            "smaller file also decodes faster because less data crosses the memory bus."),
    Passage("context", "Context length",
            "The context window is the number of tokens the model can attend to at once, prompt "
            "and reply together. Raising n_ctx lets long documents fit, but the key-value cache "
            "grows with it and can take gigabytes of RAM."),
    Passage("temperature", "Temperature",
            "Temperature divides the logits before sampling. Values below one make the output "
            "more predictable and repetitive; values above one spread probability to unlikely "
            "tokens and make the text more surprising."),
    Passage("grammar", "Grammar-constrained output",
            "A GBNF grammar restricts which tokens may be sampled at each step, so the reply "
            "always parses as valid JSON. Tokens that would break the grammar get their "
            "probability set to zero."),
    Passage("gguf", "The GGUF format",
            "GGUF is a single-file container for weights and metadata, read by llama.cpp. The "
            "header lists key-value pairs such as the architecture, the tokenizer's vocabulary "
            "and the chat template, followed by tensors that can be memory-mapped straight "
            "from disk."),
    Passage("mmap", "Loading with mmap",
            "By default the weights are mapped into the process rather than copied, so a second "
            "launch starts almost instantly because the operating system keeps the pages "
            "cached. Set use_mlock to pin them and stop the kernel from swapping them out."),
    Passage("dns", "Name resolution",
            "Before a browser can connect to a site, the resolver translates the host name into "
            "an IP address. Answers are cached for the time-to-live set by the zone, so a "
            "changed record can take hours to reach everyone."),
    Passage("wifi", "Wi-Fi frequency bands",
            "The 2.4 GHz band reaches further and passes through walls better, but it is "
            "crowded and slower. The 5 GHz band carries more data over shorter distances, so "
            "it suits a laptop in the same room as the router."),
    Passage("ports", "Port forwarding",
            "A home router hides every device behind one public address. To let outside "
            "clients reach a game or web server on your desktop, add a rule that forwards the "
            "external port to the computer's local address."),
    Passage("pasta", "Cooking pasta",
            "Bring a large pot of well-salted water to a rolling boil before adding the "
            "noodles. Stir during the first minute so they do not stick, and drain them a "
            "minute before the packet time if they will finish in the sauce."),
    Passage("sourdough", "Sourdough starter",
            "Feed the starter equal weights of flour and water once a day. It is ready to bake "
            "with when it doubles within four to six hours of feeding and smells pleasantly "
            "sour."),
    Passage("steak", "Resting a steak",
            "After it comes off the heat, let the meat sit on a board for five to ten minutes. "
            "The juices settle back into the fibres instead of running out when it is sliced."),
    Passage("knife", "Honing and sharpening",
            "A honing steel straightens the edge of a blade that has rolled over; it removes "
            "almost no metal. Sharpening on a whetstone grinds a new edge and is needed only a "
            "few times a year."),
    Passage("chain", "Chain care",
            "Wipe the chain after wet rides and apply a drop of lubricant to each roller. A "
            "stretched chain wears the cassette and chainrings, so measure it with a checker "
            "every thousand kilometres."),
    Passage("tyres", "Tyre pressure",
            "Wider tyres can run at lower pressure, which gives more grip and comfort on rough "
            "roads. Too little air risks pinch flats when the rim strikes a pothole."),
    Passage("saddle", "Saddle height",
            "With the pedal at its lowest point, your knee should be slightly bent. A seat set "
            "too low strains the knees, while one set too high makes the hips rock from side "
            "to side."),
    Passage("tomatoes", "Watering tomatoes",
            "Water deeply at the base of the plant two or three times a week rather than a "
            "little every day. Uneven moisture makes the fruit split and brings on blossom end "
            "rot."),
    Passage("compost", "Compost heap",
            "Mix green material such as grass clippings with brown material like dry leaves and "
            "cardboard. Turn the heap every couple of weeks to let air in; a pile that smells "
            "foul is too wet and needs more browns."),
    Passage("roses", "Pruning roses",
            "Cut back roses in late winter, just as the buds begin to swell. Remove dead and "
            "crossing stems first, then shorten the rest to an outward-facing bud so the bush "
            "stays open in the middle."),
    Passage("vram", "Video memory needed",
            "A 7-billion-parameter model quantized to four bits needs about 4.5 GB of VRAM, "
            "plus room for the context cache. Cards with 8 GB run it fully on the GPU; smaller "
            "ones must split the layers with the CPU."),
    Passage("apple", "Apple silicon",
            "On M-series Macs, llama.cpp uses the Metal backend and the unified memory shared "
            "by the CPU and GPU. There is no separate video memory to fill, so the whole model "
            "can be offloaded as long as the computer has enough RAM."),
    Passage("csv", "CSV files",
            "Comma-separated values store a table as plain text, one row per line. A field that "
            "contains a comma or a line break must be wrapped in double quotes, and a quote "
            "inside it is written twice."),
    Passage("png", "PNG and JPEG",
            "JPEG discards detail the eye barely notices, which suits photographs but blurs "
            "sharp edges. PNG is lossless, so screenshots, diagrams and text stay crisp, at the "
            "cost of larger files."),
    Passage("encodings", "Text encodings",
            "UTF-8 stores ASCII characters in one byte and other characters in two to four. "
            "Opening a UTF-8 file as Latin-1 turns accented letters into pairs of odd symbols "
            "such as Ã©."),
    Passage("ssh", "SSH keys",
            "Generate a key pair with ssh-keygen and copy the public half to the server's "
            "authorized_keys file. Logins then use the private key instead of a password, "
            "which is both safer and quicker."),
    Passage("battery", "Battery care",
            "Lithium-ion cells age fastest when kept at full charge in a warm place. Many "
            "laptops can cap charging at 80 percent, which noticeably extends the pack's life "
            "if the computer stays plugged in."),
    Passage("backups", "Backups",
            "Keep three copies of anything important, on two kinds of storage, with one copy "
            "away from home. A synced folder is not a backup: deleting a file there deletes it "
            "everywhere."),
    Passage("espresso", "Espresso extraction",
            "A shot that runs in under twenty seconds tastes sour because too little is "
            "dissolved from the grounds. Grind finer or dose more coffee until it takes "
            "twenty-five to thirty seconds."),
    # -- near neighbours that answer no question --------------------------------------------
    Passage("cuda-build", "Building with CUDA",
            "Install the CUDA toolkit first, then reinstall llama-cpp-python with "
            "CMAKE_ARGS=-DGGML_CUDA=on so that it compiles the GPU kernels. A wheel built "
            "without it silently runs on the CPU only."),
    Passage("chat-template", "Chat templates",
            "Every instruction-tuned model expects its conversation in a specific format, with "
            "special tokens marking where the system, user and assistant turns begin. Using the "
            "wrong template makes answers ramble or repeat the prompt."),
    Passage("max-tokens", "Limiting reply length",
            "max_tokens caps how many tokens a single reply may generate. Generation also ends "
            "at an end-of-sequence token or at any stop string you list."),
    Passage("latency", "Ping and latency",
            "Latency is the time a packet takes to travel to a server and back, measured in "
            "milliseconds. It depends on distance and routing more than on bandwidth, which is "
            "why a fast connection can still feel sluggish in online games."),
    Passage("rice", "Cooking rice",
            "Rinse the grains until the water runs clear to wash off surface starch. Use about "
            "one and a half parts water to one part rice, simmer covered, then leave it to "
            "steam off the heat for ten minutes."),
    Passage("brakes", "Disc brakes",
            "Hydraulic disc brakes stop reliably in the rain because the rotor sits away from "
            "road spray. Squealing usually means contaminated pads; replace them and clean the "
            "rotor with isopropyl alcohol."),
    Passage("seedlings", "Starting seeds indoors",
            "Sow seeds in trays six to eight weeks before the last frost. Keep them warm until "
            "they sprout, then give them strong light so the seedlings do not grow tall and "
            "spindly."),
    Passage("wool", "Washing wool",
            "Wool shrinks and felts when hot water and agitation meet. Wash it cold on a gentle "
            "cycle, or by hand, and dry it flat rather than hanging it."),
    Passage("jet-lag", "Jet lag",
            "Shift your bedtime by an hour a day for a few days before a long flight east. "
            "Daylight in the morning at the destination resets the body clock fastest."),
    Passage("passwords", "Password managers",
            "A password manager fills in a different random password for every account, so a "
            "leak at one service does not open the others. Protect the vault itself with a long "
            "passphrase and a second factor."),
]  # fmt: skip

QUESTIONS = [
    Question("Will my NVIDIA card speed things up?", "gpu-offload", True),
    Question("Is the assistant able to run a few lookups simultaneously?", "parallel-calls",
             True),
    Question("How much disk space does compressing the network to lower precision save?",
             "quantization", True),
    Question("Why does a lengthy chat use up so much memory?", "context", True),
    Question("Which setting gets it to reply less randomly and more consistently?",
             "temperature", True),
    Question("How can I guarantee the model only emits well-formed structured data?", "grammar",
             True),
    Question("What is inside one of those model files I download?", "gguf", False),
    Question("Why does it open so much quicker the second time?", "mmap", False),
    Question("I moved my website to a new server; why do some visitors still land on the old "
             "one?", "dns", True),
    Question("Which wireless option works best for the distant bedroom upstairs?", "wifi", True),
    Question("How do friends join the match I host from my PC?", "ports", True),
    Question("How do I keep spaghetti from clumping together?", "pasta", True),
    Question("How can I tell when my homemade leaven is lively enough for loaves?", "sourdough",
             True),
    Question("Should I cut the beef straight away after grilling?", "steak", True),
    Question("How often should a kitchen knife be taken to the whetstone?", "knife", False),
    Question("What keeps the bicycle's gears shifting smoothly and lasting long?", "chain", True),
    Question("How much should I inflate the wheels of my bike?", "tyres", True),
    Question("My knees ache after long rides; is the bike adjusted wrong?", "saddle", False),
    Question("Why are the bottoms of my tomatoes turning black and mushy?", "tomatoes", False),
    Question("My rotting kitchen-scrap bin stinks; what am I doing wrong?", "compost", True),
    Question("When is the right moment to trim my flowering shrubs?", "roses", True),
    Question("Is a graphics board with six gigs enough for a mid-sized LLM?", "vram", True),
    Question("Does it run well on a MacBook?", "apple", True),
    Question("How do I escape a quotation mark inside a spreadsheet export?", "csv", False),
    Question("Which image type keeps a screen capture of code from looking smudged?", "png",
             True),
    Question("Why do foreign names look like gibberish after I load the document?", "encodings",
             True),
    Question("How can I log in to a remote machine without typing a passphrase each time?",
             "ssh", True),
    Question("Is leaving my notebook on the power adapter all day bad for it?", "battery", True),
    Question("Does mirroring my photos to the cloud count as a safe copy?", "backups", False),
    Question("My morning brew from the machine is too acidic; what should I change?", "espresso",
             True),
]  # fmt: skip
