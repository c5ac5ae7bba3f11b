print("octavo-infer")
