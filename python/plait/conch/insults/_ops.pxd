# The operations both kinds of terminal understand, numbered for the parser -> screen C calls
# (declarations only: no module of its own). _vt102 maps the first OP_PYTHON_LAST + 1 of them
# to Terminal methods for a Python terminal; the rest are TerminalBuffer-only.

cdef enum:
    MAX_PARAMS = 32           # parameters kept per sequence; more are ignored
    MAX_PARAM_VALUE = 65535   # a parameter saturates here

cdef enum Op:
    OP_CUU, OP_CUD, OP_CUF, OP_CUB, OP_CUP, OP_HOME, OP_CHA, OP_VPA
    OP_IND, OP_RI, OP_NEL, OP_DECSC, OP_DECRC, OP_DECKPAM, OP_DECKPNM
    OP_SI, OP_SO, OP_SS2, OP_SS3, OP_HTS, OP_TBC, OP_TBC_ALL, OP_HT
    OP_DHL, OP_SWL, OP_DWL, OP_EL0, OP_EL1, OP_EL2, OP_ED0, OP_ED1, OP_ED2
    OP_ECH, OP_DCH, OP_ICH, OP_IL, OP_DL, OP_SU, OP_SD, OP_STBM
    OP_CR, OP_LF, OP_BS, OP_BEL, OP_RIS
    # buffer-only operations (a Python terminal gets unhandled_control_sequence)
    OP_CBT, OP_REP, OP_DECALN, OP_DSR, OP_CPR, OP_DECXCPR, OP_DA, OP_DA2, OP_DECSTR, OP_ED3
    OP_SCOSC, OP_SCORC
    OP_PYTHON_LAST = OP_RIS
