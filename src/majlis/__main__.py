from majlis.cli import main

raise SystemExit(main())
