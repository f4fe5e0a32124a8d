"""A fixed, offline corpus for the report bench and the research tests: eight Markdown
documents about the island of Orrowmere, which does not exist, so a model can know nothing
of it but what the documents say.

Every document has a title and three to six paragraphs of concrete made-up facts (names,
years, numbers) that agree with each other across documents. The text was written once,
before any model read it, and is not to be tuned to what a model makes of it: the figures
the bench reports (citations that resolve, verdicts, the verifier's agreement on planted
claims in ``bench.claims``) are only comparable while it stays the same.
"""

from __future__ import annotations

from pathlib import Path

TOPIC = "The island of Orrowmere"

# file name -> (title, paragraphs)
DOCUMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "history.md": ("A short history of Orrowmere", (
        "Orrowmere is an island in the Pellam Sound, 74 kilometres off the coast of the "
        "mainland province of Calder Vane. Before any town was built, fishers from the "
        "mainland camped on its shores in summer; the stone rings at Carrow Head, the "
        "oldest works on the island, have been dated to around 900 BC.",
        "The first permanent settlers arrived in 1588 aboard the cog Bright Heron, led by "
        "Edda Vorne. In 1602 they built the chapel of St Ulfric at Kestrel Quay, which is "
        "still the oldest standing building on the island.",
        "The Great Storm of November 1711 destroyed 130 houses and most of the harbour "
        "wall at Kestrel Quay. The wall was rebuilt between 1714 and 1719 with granite "
        "quarried at Brannock.",
        "In 1783 the island was bought by the Calder Vane Company for 12,000 crowns. The "
        "company ran the herring trade and collected rents until it was dissolved in 1842, "
        "when the islanders elected their own council, the Orrowmere Moot, with 17 members.",
        "A telegraph cable reached the island from the mainland in 1907. The Selwick "
        "lighthouse was automated in 1953, and the airstrip at Fenlow opened in 1968.",
    )),
    "settlement.md": ("The settlement of Orrowmere", (
        "Edda Vorne led 46 families, 212 people in all, from the mainland port of Ostmark. "
        "The voyage of the Bright Heron took 19 days, and the settlers landed at Selwick Bay "
        "on 3 May 1588.",
        "The first winter was hard: 31 of the 212 settlers died before the spring of 1589, "
        "most of them from fever. The survivors lived in turf houses along the shore of "
        "Selwick Bay.",
        "In 1596 the main settlement moved from Selwick Bay to Kestrel Quay, on the east "
        "coast, because its deeper harbour sheltered boats from the western gales.",
        "Vorne divided the farmland into 88 crofts, known as the Vorne Allotment. Each "
        "family drew its croft by lot, and the boundaries drawn in 1590 are still used by "
        "the island's land register.",
        "The population reached 1,000 by 1650 and 3,200 by 1800. It peaked at 11,450 in the "
        "census of 1911 and has fallen since: the census of 2021 counted 9,870 people, 4,310 "
        "of them in Kestrel Quay.",
    )),
    "economy.md": ("The economy of Orrowmere", (
        "For three centuries the island lived from the sea. Herring and eel were the main "
        "catches, and the herring fleet of Kestrel Quay reached its largest size in 1890, "
        "with 140 boats.",
        "Between 1760 and 1830 islanders burned kelp on the western shores to make soda ash "
        "for the glassworks of the mainland. The trade ended when cheaper soda from salt "
        "replaced it.",
        "Today tourism is the largest employer, with 38 percent of all jobs on the island. "
        "Orrowmere received 61,000 visitors in 2023, most of them between June and "
        "September.",
        "Sheep farming remains important: about 22,000 sheep of the hardy Tessaly breed "
        "graze the hills, and their wool is spun at the Fenlow mill, founded in 1879.",
        "The Ammery Distillery at Brannock, founded in 1821, produces 410,000 litres of "
        "whisky a year. Since 2016 the nine turbines of the Carrow Head wind farm have "
        "supplied about 70 percent of the island's electricity.",
    )),
    "geography.md": ("The geography of Orrowmere", (
        "Orrowmere covers 212 square kilometres. The island is 31 kilometres long from north "
        "to south and 9 kilometres wide at its widest point.",
        "Its highest point is Mount Tessaly, at 684 metres, in the north of the island. On "
        "the west coast the cliffs known as the Hagstones rise up to 190 metres above the "
        "sea.",
        "Lough Ammery, the largest freshwater lake, covers 3.4 square kilometres. The river "
        "Skelling, 14 kilometres long, drains the lake and reaches the sea at Brannock.",
        "The Blackmire, a peat bog of 18 square kilometres, fills the centre of the island. "
        "Carrow Head, the southern cape, holds a colony of about 14,000 pairs of puffins.",
        "The climate is mild and wet: the mean temperature is 4 degrees Celsius in January "
        "and 17 degrees in July, and about 1,340 millimetres of rain fall in a year. Two "
        "islets lie offshore, Little Orrow to the north and Skerry Dunn to the west.",
    )),
    "festivals.md": ("Festivals of Orrowmere", (
        "Vorne Day, on 3 May, marks the landing of the first settlers. A procession walks "
        "the 11 kilometres from Selwick Bay to Kestrel Quay, led by a child carrying a "
        "model of the Bright Heron.",
        "Herring Sunday, held on the first Sunday of July since 1791, begins with the "
        "blessing of the boats in Kestrel Quay harbour and ends with a race of rowing "
        "gigs around Little Orrow.",
        "On 21 December the village of Dunmarrow holds the Midwinter Tarring: burning "
        "barrels of tar are carried on the shoulders through the village street. Only men "
        "and women born in Dunmarrow may carry a barrel.",
        "The Orrowmere Folk Week was founded in 1974 by the fiddler Colm Reddish. It is held "
        "every August and now draws about 3,500 visitors.",
    )),
    "people.md": ("Notable people of Orrowmere", (
        "Edda Vorne (1551-1619) led the first settlers to the island and governed it until "
        "her death. Her grave lies beside the chapel of St Ulfric.",
        "The pilot Tomas Veyle charted the soundings of the Sunder Reach, the strait north of "
        "Orrowmere, during the winter of 1655. His chart was used by ships for more than a "
        "century.",
        "The botanist Isobel Crane (1802-1877) catalogued 412 species of plants on the "
        "island. She published them in 1849 in her book Flora Orrovensis.",
        "Hamish Tull (1866-1931) was a shipbuilder at Kestrel Quay. His yard built the "
        "steamer Marigold, which carried mail and passengers to the mainland from 1902 to "
        "1938.",
        "The novelist Ada Fenwright, born in Selwick in 1958, won the Harrowby Prize in 1996 "
        "for her novel The Salt Ledger, set among the kelp burners of the 1790s.",
    )),
    "cuisine.md": ("The cuisine of Orrowmere", (
        "The best-known dish of the island is Skelling eel pie: eel from the river Skelling "
        "baked with leeks and potatoes in a crust of rye flour.",
        "Quay bread is a flat bread of oats and barley baked on an iron griddle. It is eaten "
        "with salted butter at breakfast.",
        "Tessaly lamb is cured in seaweed salt and then smoked over peat from the Blackmire "
        "for nine days. The smoked lamb is served thinly sliced at weddings.",
        "Beekeepers on the Blackmire make about 6 tonnes of heather honey a year. The "
        "islanders also distil sloe brack, a sweet liqueur of sloes and honey.",
        "Seabirds were once a winter food, but the Moot banned the hunting of puffins in "
        "1931, and the colony at Carrow Head has grown since.",
    )),
    "transport.md": ("Getting to and around Orrowmere", (
        "The ferry MV Edda Vorne, built in 2009, sails from Kestrel Quay to Port Calder on "
        "the mainland. The crossing takes 2 hours and 40 minutes, and the ship carries up "
        "to 290 passengers and 44 cars.",
        "The ferry sails twice a day in summer and once a day in winter. In bad weather the "
        "crossing is cancelled, on average on 23 days a year.",
        "The airstrip at Fenlow has a runway of 780 metres. An eight-seat aircraft flies to "
        "Calder City three times a week.",
        "The island has 96 kilometres of public road. The Ring Road links the villages and "
        "has a speed limit of 60 kilometres per hour; a single bus route serves 14 stops.",
        "From 1898 to 1961 the Orrowmere Peat Railway, with a gauge of 600 millimetres, "
        "carried peat 7 kilometres from the Blackmire to Kestrel Quay.",
    )),
}  # fmt: skip


def paragraph(name: str, index: int) -> str:
    """Paragraph ``index`` (from 0) of document ``name``."""
    return DOCUMENTS[name][1][index]


def markdown(name: str) -> str:
    title, paragraphs = DOCUMENTS[name]
    return "\n\n".join([f"# {title}", *paragraphs]) + "\n"


def write_corpus(folder: Path) -> list[Path]:
    """The documents, written into ``folder`` (made if missing); their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in DOCUMENTS:
        path = folder / name
        path.write_text(markdown(name), encoding="utf-8")
        out.append(path)
    return out
