from tokenward.cli import main

main()
