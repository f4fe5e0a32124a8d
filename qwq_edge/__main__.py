from qwq_edge.cli import main

raise SystemExit(main())
