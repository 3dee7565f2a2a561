# The warning set of house-style.md §2.7, applied to every target we build.
add_compile_options(
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
	-Wformat=2 -Wpointer-arith -Wcast-align -Wvla -Wundef
	-Wnull-dereference -Wno-unused-parameter)
if(OTA_WERROR)
	add_compile_options(-Werror)
endif()
