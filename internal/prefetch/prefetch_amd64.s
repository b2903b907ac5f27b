#include "textflag.h"

// func Lines(p unsafe.Pointer, n int)
TEXT ·Lines(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	n+8(FP), CX
loop:
	CMPQ	CX, $0
	JLE	done
	PREFETCHT0	(AX)
	ADDQ	$64, AX
	SUBQ	$64, CX
	JMP	loop
done:
	RET

// func Span(p unsafe.Pointer, before, n int)
TEXT ·Span(SB), NOSPLIT|NOFRAME, $0-24
	MOVQ	p+0(FP), AX
	MOVQ	before+8(FP), DX
	MOVQ	n+16(FP), CX
	SUBQ	DX, AX
	ADDQ	DX, CX
span:
	CMPQ	CX, $0
	JLE	spandone
	PREFETCHT0	(AX)
	ADDQ	$64, AX
	SUBQ	$64, CX
	JMP	span
spandone:
	RET
