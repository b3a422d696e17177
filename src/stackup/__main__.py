from stackup.cli import main

main()
