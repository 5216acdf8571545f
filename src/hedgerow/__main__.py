from hedgerow.cli import main

main()
