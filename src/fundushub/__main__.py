from fundushub.cli import main

main()
