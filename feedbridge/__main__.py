from feedbridge.cli import main

raise SystemExit(main())
