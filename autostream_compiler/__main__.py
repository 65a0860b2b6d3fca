from autostream_compiler.cli import main

main()
